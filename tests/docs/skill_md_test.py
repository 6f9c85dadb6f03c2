#!/usr/bin/env python3
"""SKILL.md, the agent guide, against the built tools: every command line it shows runs.

Usage: skill_md_test.py SKILL.md BIN_DIR...   (the directories of pg-run, pg-ls, pg-ctl)

The commands are the lines of its ```sh blocks and every `inline code` that starts with
pg-run, pg-ls or pg-ctl, with NAME read as the job `bot`; each `--option` it mentions must be
an option of one of the three programs. They run in document order in a temporary directory
(PG_STATE_DIR inside it, the built binaries first on PATH, a bot.py that runs until stopped,
a Makefile and a pg.toml of one job beside it). Before a command about a job, the job is brought to the state the
command is about (running for stop, restart, signal, logs; ended for forget, start, and for pg-run
itself so that its launch line is really run). Each must then exit 0 (pg-ls --check: 0 or 1),
never 2 (usage), and say nothing of an unknown option. `pg-ctl logs -f` runs until it has
printed a line, then is ended by its pid. At the end every job of the state directory is
stopped through pg-ctl, and its supervisor killed by the pid state.json records if it is
still there.
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOOLS = ("pg-run", "pg-ls", "pg-ctl")
JOB = "bot"
DEADLINE_S = 30
failures = []


def fail(what):
    failures.append(what)
    print(f"FAIL: {what}", flush=True)


def commands_and_options(text):
    """The command lines SKILL.md shows, in order, and the --options it names."""
    commands, options = [], set()
    in_sh = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_sh = line.strip() in ("```sh", "```bash", "```console") and not in_sh
            continue
        if in_sh:
            words = shlex.split(line, comments=True)
            if words and words[0] in TOOLS:
                commands.append(words)
            continue
        for span in re.findall(r"`([^`]+)`", line):
            words = span.split()
            # A program's bare name (`pg-run`) names it; it is not a command line.
            if len(words) > 1 and words[0] in TOOLS:
                commands.append(shlex.split(span))
            for opt in re.findall(r"(?:^|\s)(--[a-z][a-z-]*)", span):
                options.add(opt)
    return [[JOB if w == "NAME" else w for w in c] for c in commands], options


def run(argv, env, cwd, timeout=DEADLINE_S):
    p = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def job_state(env, cwd):
    code, out, _ = run(["pg-ls", "--json", JOB], env, cwd)
    if code != 0:
        return None
    return json.loads(out)[0]["state"]


LIVE = {"starting", "running", "backoff", "stopping"}


def ensure(want, env, cwd, start_line):
    state = job_state(env, cwd)
    if want == "running" and state not in LIVE:
        argv = [w if w != "5s" else "500ms" for w in start_line]  # a short --wait
        code, out, err = run(argv, env, cwd)
        if code != 0:
            fail(f"starting the job for the next command: {shlex.join(argv)}: exit {code}: {err}")
    if want == "ended" and state in LIVE:
        run(["pg-ctl", "stop", JOB], env, cwd)


def follow_until_a_line(argv, env, cwd):
    """pg-ctl logs -f, pg-ls --watch, --events --follow: runs until it printed a line, then ends
    it by its pid."""
    p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        line = p.stdout.readline()  # blocks until a line, or EOF when it ended
        code = p.poll()
        if not line:
            p.wait(timeout=DEADLINE_S)
            return p.returncode, "", p.stderr.read()
        return (0 if code is None else code), line, ""
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGTERM)
        p.wait(timeout=DEADLINE_S)


def end_jobs(env, cwd, state_dir):
    for name in sorted(os.listdir(state_dir)) if os.path.isdir(state_dir) else []:
        run(["pg-ctl", "stop", "--timeout", "2s", name], env, cwd)
        try:
            with open(os.path.join(state_dir, name, "state.json")) as f:
                sup = json.load(f).get("supervisor", {}).get("pid")
        except (OSError, ValueError):
            continue
        code, out, _ = run(["pg-ls", "--json", name], env, cwd)
        if code == 0 and json.loads(out)[0]["state"] in LIVE and sup:
            try:
                os.kill(sup, signal.SIGKILL)
                fail(f"{name}: still live after pg-ctl stop; supervisor {sup} killed")
            except ProcessLookupError:
                pass


def main():
    skill, bin_dirs = sys.argv[1], [os.path.abspath(d) for d in sys.argv[2:]]
    with open(skill) as f:
        commands, options = commands_and_options(f.read())
    if len(commands) < 10:
        fail(f"only {len(commands)} command lines found in {skill}")
    tmp = tempfile.mkdtemp(prefix="skill-md-")
    state_dir = os.path.join(tmp, "state")
    env = dict(os.environ)
    env["PG_STATE_DIR"] = state_dir
    env["PATH"] = ":".join(bin_dirs + [os.path.join(tmp, "stubs"), env.get("PATH", "/usr/bin:/bin")])
    env.pop("XDG_STATE_HOME", None)
    with open(os.path.join(tmp, "bot.py"), "w") as f:
        f.write("import time\nprint('bot up', flush=True)\nwhile True:\n    time.sleep(60)\n")
    with open(os.path.join(tmp, "Makefile"), "w") as f:
        f.write("all:\n\t@echo built\n")
    with open(os.path.join(tmp, "pg.toml"), "w") as f:  # the project's jobs of pg-ctl up/down
        f.write('[jobs.helper]\ncommand = ["python3", "bot.py"]\n')
    os.chmod(os.path.join(tmp, "pg.toml"), 0o644)
    os.makedirs(os.path.join(tmp, "stubs"))
    if shutil.which("make") is None:  # a stand-in for the example task only
        with open(os.path.join(tmp, "stubs", "make"), "w") as f:
            f.write("#!/bin/sh\necho built\n")
        os.chmod(os.path.join(tmp, "stubs", "make"), 0o755)
    try:
        helps = ""
        verbs = ["stop", "restart", "start", "signal", "ack", "logs", "forget", "revive", "unit",
                 "up", "down", "show"]
        for argv in [[t, "--help"] for t in TOOLS] + [["pg-ctl", v, "--help"] for v in verbs]:
            code, out, err = run(argv, env, tmp)
            if code != 0:
                fail(f"{shlex.join(argv)}: exit {code}: {err}")
            helps += out
        for opt in sorted(options):
            if not re.search(re.escape(opt) + r"\b", helps):
                fail(f"SKILL.md mentions {opt}, an option of none of {', '.join(TOOLS)}")

        start_line = next(c for c in commands if c[0] == "pg-run")
        for argv in commands:
            verb = argv[1] if argv[0] == "pg-ctl" and len(argv) > 1 else ""
            if argv[0] == "pg-run" or verb in ("forget", "start"):
                ensure("ended", env, tmp, start_line)
            elif JOB in argv or verb == "revive":
                ensure("running", env, tmp, start_line)
            if argv[0] == "pg-run":
                run(["pg-ctl", "forget", JOB], env, tmp)
            endless = argv[0] == "pg-ls" and ("--watch" in argv or "--follow" in argv)
            if (verb == "logs" and "-f" in argv) or endless:
                code, out, err = follow_until_a_line(argv, env, tmp)
            else:
                code, out, err = run(argv, env, tmp)
            ok = {0, 1} if argv[:2] == ["pg-ls", "--check"] else {0}
            shown = shlex.join(argv)
            print(f"exit {code}: {shown}", flush=True)
            if code not in ok:
                fail(f"{shown}: exit {code}\n{out}{err}")
            if re.search(r"unknown|not expected|error: ", err, re.IGNORECASE):
                fail(f"{shown}: said: {err}")
            # What SKILL.md says of the output, where it says it.
            if argv == ["pg-ls", JOB] and not out.startswith(f"{JOB}: "):
                fail(f"pg-ls {JOB}: first line is not '{JOB}: STATE': {out[:80]!r}")
            if argv == ["pg-ls", "--json", JOB] and "state" not in json.loads(out)[0]:
                fail(f"pg-ls --json {JOB}: no .[0].state")
    finally:
        end_jobs(env, tmp, state_dir)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(commands)} command lines and {len(options)} options of SKILL.md checked; "
          f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
