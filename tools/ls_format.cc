#include "ls_format.h"
