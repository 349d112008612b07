/* nk_status.c - message and name tables generated from NK_STATUS_LIST. */
#include "nk_status.h"

const char *nk_status_message(int status) {
  switch (status) {
#define NK_STATUS_CASE(name, value, msg) \
  case value:                            \
    return msg;
    NK_STATUS_LIST(NK_STATUS_CASE)
#undef NK_STATUS_CASE
  }
  return "unknown status code";
}

const char *nk_status_name(int status) {
  switch (status) {
#define NK_STATUS_CASE(name, value, msg) \
  case value:                            \
    return #name;
    NK_STATUS_LIST(NK_STATUS_CASE)
#undef NK_STATUS_CASE
  }
  return "NK_UNKNOWN";
}
