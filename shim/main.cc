// pg-run: start and babysit one job. The command line becomes Options (run_args.cc); launch()
// does the rest. Every failure is a Failure with its exit status, reported here once.
#include "launch.h"
#include "run_args.h"

int main(int argc, char** argv)
{
  pg::Options opt;
  try {
    if (!pg::parse_run_args(argc, argv, opt)) {
      return pg::k_exit_ok; // --help, --version
    }
    return pg::launch(opt);
  } catch (const pg::Failure& f) {
    return pg::report_failure(opt, f);
  } catch (const std::exception& e) {
    return pg::report_failure(opt, pg::Failure(pg::k_exit_env, e.what()));
  }
}
