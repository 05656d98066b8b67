/* cli.c - what every program's main shares: options, messages, exit */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "json.h"
#include "reduce.h"

/* The length of "--name" in "--name=value". */
static int optlen(const char *opt)
{
	const char *eq = strchr(opt, '=');

	return eq ? (int)(eq - opt) : (int)strlen(opt);
}

int evt_cli_common(int c, int argc, char **argv, struct evt_store_opts *so,
		   const char *usage)
{
	const char *opt = optind > 0 && optind <= argc ? argv[optind - 1] : "";

	switch (c) {
	case 'd':
		/* "-dash" is no store "ash" but a name after a missing "--" */
		if (optarg != opt && strncmp(opt, "--", 2) != 0)
			return evt_usage_error("ambiguous '%s': write '-d %s' "
					       "for a store; a name that "
					       "begins with '-' goes after "
					       "'--'", opt, optarg);
		so->url = optarg;
		return EVT_CLI_NEXT;
	case EVT_OPT_EVENTS_TABLE:
		so->events_table = optarg;
		return EVT_CLI_NEXT;
	case EVT_OPT_BOOKMARKS_TABLE:
		so->bookmarks_table = optarg;
		return EVT_CLI_NEXT;
	case 'h':
		fputs(usage, stdout);
		return evt_flush_stdout();
	case EVT_OPT_VERSION:
		printf("%s (evt) %s\n", evt_prog, EVT_VERSION);
		return evt_flush_stdout();
	case ':':
		if (strncmp(opt, "--", 2) == 0)
			return evt_usage_error("option '%.*s' needs a value",
					       optlen(opt), opt);
		return evt_usage_error("option '-%c' needs a value", optopt);
	case '?':
		if (strncmp(opt, "--", 2) == 0 && optopt)
			return evt_usage_error("option '%.*s' takes no value",
					       optlen(opt), opt);
		if (strncmp(opt, "--", 2) == 0)
			return evt_usage_error("unknown option '%.*s'",
					       optlen(opt), opt);
		if (optopt)
			return evt_usage_error("unknown option '-%c'", optopt);
		return evt_usage_error("unknown option '%s'", opt);
	}
	return EVT_CLI_OTHER;
}

/* Does the long option arg ("--name", no '=') take the next argument as
 * its value?  An exact name, else a prefix of names that agree (as
 * getopt_long reads it; an ambiguous or unknown one is getopt's error). */
static int long_takes_value(const char *arg, const struct option *o)
{
	size_t n = strlen(arg);
	int value = -1, v, ambiguous = 0;

	for (; o->name; o++) {
		if (strncmp(o->name, arg, n) != 0)
			continue;
		v = o->has_arg == required_argument;
		if (o->name[n] == '\0')
			return v;
		ambiguous |= value >= 0 && value != v;
		value = v;
	}
	return !ambiguous && value > 0;
}

/* How many arguments the option at argv[i] spans: 2 when its value is the
 * next one, else 1. */
static int option_span(const char *arg, const char *optstring,
		       const struct option *longopts)
{
	const char *p;

	if (arg[1] == '-')
		return strchr(arg, '=') ? 1 :
		       1 + long_takes_value(arg + 2, longopts);
	for (arg++; *arg; arg++) {
		if (*arg == ':' || !(p = strchr(optstring, *arg)))
			return 1;
		if (p[1] == ':')
			return arg[1] ? 1 : 2;
	}
	return 1;
}

int evt_cli_split_begin(struct evt_cli_split *s, int argc, char **argv,
			const char *optstring,
			const struct option *longopts)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			s->lead = 1;
		else
			i += option_span(argv[i], optstring, longopts) - 1;
	}
	s->dd = i < argc ? i : argc;
	return s->dd;
}

int evt_cli_split_end(struct evt_cli_split *s, int argc, char **argv,
		      int fixed)
{
	int end;

	if (s->dd == argc || s->lead) {
		s->args = argv + optind;
		s->nargs = s->dd - optind;
		end = s->dd;		/* NAME STREAM -- PROGRAM */
	} else if (fixed < 0) {
		s->args = argv + s->dd + 1;	/* --reset -- NAME */
		s->nargs = argc - s->dd - 1;
		return 0;
	} else {
		/* -- NAME STREAM -- PROGRAM, where NAME and STREAM may be
		 * "--" too */
		end = s->dd + 1 + fixed < argc ? s->dd + 1 + fixed : argc;
		while (end < argc && strcmp(argv[end], "--") != 0)
			end++;
		s->args = argv + s->dd + 1;
		s->nargs = end - s->dd - 1;
	}
	if (end == argc)
		return 0;
	if (end + 1 == argc)
		return evt_usage_error("'--' needs a PROGRAM after it");
	s->program = argv + end + 1;
	return 0;
}

const char *evt_split_streams(const char *arg, char ***list, size_t *n,
			      const char **bad)
{
	const char *s = arg, *p, *why;

	for (p = arg;; p++) {
		if (*p == ',' || *p == '\0') {
			char *name = evt_xstrndup(s, (size_t)(p - s));

			*list = evt_xrealloc(*list, (*n + 1) * sizeof(**list));
			(*list)[(*n)++] = name;
			if ((why = evt_name_check(name, strlen(name)))) {
				*bad = name;
				return why;
			}
			if (!*p)
				return NULL;
			s = p + 1;
		}
	}
}

int evt_cli_key(const char *arg, const char **key)
{
	if (!*arg || strlen(arg) > EVT_NAME_MAX)
		return evt_usage_error("invalid key '%s': use 1 to %d bytes",
				       arg, EVT_NAME_MAX);
	/* the servers refuse it at the append, again on every retry */
	if (!evt_utf8_valid(arg, strlen(arg)))
		return evt_usage_error("invalid key '%s': is not valid UTF-8",
				       arg);
	*key = arg;
	return 0;
}

int evt_cli_add_stream(char ***list, size_t *n, const char *name)
{
	const char *why = evt_name_check(name, strlen(name));

	if (why)
		return evt_usage_error("invalid stream '%s': %s", name, why);
	*list = evt_xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[(*n)++] = evt_xstrdup(name);
	return 0;
}

int evt_cli_write_stream(const char *name)
{
	const char *why = evt_name_check(name, strlen(name));

	if (why)
		return evt_usage_error("invalid stream '%s': %s", name, why);
	if ((why = evt_stream_check(name, strlen(name)))) {
		evt_warn("invalid stream '%s': %s", name, why);
		return EVT_EINPUT;
	}
	return 0;
}

int evt_cli_add_type(struct evt_query *q, const char ***types,
		     const char *type)
{
	if (!*type)
		return evt_usage_error("invalid type ''");
	*types = evt_xrealloc(*types, (q->ntypes + 1) * sizeof(**types));
	(*types)[q->ntypes++] = type;
	q->types = *types;
	return 0;
}

int evt_cli_fold_opt(struct evt_fold_opts *fo, int c, const char *arg)
{
	switch (c) {
	case EVT_OPT_JQ:
		fo->jq = arg;
		break;
	case EVT_OPT_JQ_FILE:
		fo->jq_file = arg;
		break;
	case EVT_OPT_EXEC:
		fo->exec = arg;
		break;
	case EVT_OPT_INIT:
		fo->init = arg;
		return 1;
	case EVT_OPT_PERSIST:
		fo->persist = arg;
		return 1;
	case EVT_OPT_TIMEOUT:
		if (evt_parse_seconds(arg, &fo->timeout_ms) < 0)
			return evt_usage_error("invalid --timeout '%s'%s", arg,
					       EVT_SECONDS);
		return 1;
	default:
		return 0;
	}
	fo->reducers++;
	return 1;
}

int evt_cli_reducer(const struct evt_fold_opts *fo, struct evt_reducer **red)
{
	struct evt_buf prog = EVT_BUF_INIT;
	struct evt_err e = { 0, "" };
	const char *jq = fo->jq;
	int rc;

	if (fo->jq_file) {
		if ((rc = evt_read_file(fo->jq_file, &prog, &e))) {
			evt_buf_release(&prog);
			return evt_fail(&e);
		}
		jq = prog.p;
	}
	if (jq) {
		rc = evt_reducer_jq(red, jq, &e);
		evt_buf_release(&prog);
		if (rc)
			return evt_fail(&e);
	} else if (fo->exec) {
		*red = evt_reducer_exec(fo->exec, fo->timeout_ms ?
					fo->timeout_ms : -1, evt_cli_note());
	} else {
		*red = evt_reducer_merge();
	}
	return 0;
}

int evt_parse_seconds(const char *s, int *ms)
{
	char *end;
	double v = strtod(s, &end);

	if (!*s || *end || !(v > 0) || v > INT_MAX / 1000)
		return -1;
	*ms = (int)(v * 1000 + 0.5);
	if (*ms == 0)
		*ms = 1;
	return 0;
}

void (*evt_cli_note(void))(const char *msg)
{
	return isatty(2) ? evt_warn_msg : NULL;
}
