/*
 * error.c - names and messages for cairn_err.
 *
 * The table lives in include/cairn/error.h as an X-macro so that adding an
 * error adds its name and sentence in the same line; this file only expands
 * it into two lookups. Unknown values (a newer peer, a corrupted log line)
 * get a fixed fallback instead of a NULL.
 */
#include "cairn/error.h"

const char *cairn_strerror(cairn_err err) {
  switch (err) {
#define CAIRN_ERR_MSG_(name, value, short_name, message) \
  case CAIRN_ERR_##name:                                 \
    return message;
    CAIRN_ERRORS(CAIRN_ERR_MSG_)
#undef CAIRN_ERR_MSG_
  }
  return "unknown error";
}

const char *cairn_errname(cairn_err err) {
  switch (err) {
#define CAIRN_ERR_NAME_(name, value, short_name, message) \
  case CAIRN_ERR_##name:                                  \
    return short_name;
    CAIRN_ERRORS(CAIRN_ERR_NAME_)
#undef CAIRN_ERR_NAME_
  }
  return "unknown";
}
