#include "ctl_actions.h"
