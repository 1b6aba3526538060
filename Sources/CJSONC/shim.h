#ifndef XLSTM_CJSONC_SHIM_H
#define XLSTM_CJSONC_SHIM_H
#include <json-c/json.h>
#endif
