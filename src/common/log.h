/*
 * log: the one logging helper.  Messages go to stderr, and, when a log file
 * was configured (runc's --log), also to that file as text or as one JSON
 * object per line ({"level","msg","time"}), the format containerd and
 * podman read back to report a runtime's failure.
 */
#ifndef BARGE_LOG_H
#define BARGE_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Program name used as the stderr prefix, e.g. "barge-runtime". */
void log_init(const char *prog);
/* Open `path` for appending; json != 0 selects the JSON format. Returns <0 on failure. */
int log_open_file(const char *path, int json);
void log_set_level(enum log_level lvl);
/* When quiet, messages go to the log file only (not stderr). */
void log_set_stderr(int enabled);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
