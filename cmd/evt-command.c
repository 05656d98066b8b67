/* evt-command - load an aggregate, run a command program, append what it
 * decides */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evt.h"

static const char usage[] =
	"usage: evt-command [FOLD OPTIONS] [--retries N] [--key KEY] STREAM ID "
	"COMMAND [BODY] -- PROGRAM [ARG...]\n"
	"       evt-command [OPTIONS] -- STREAM ID COMMAND [BODY] -- PROGRAM "
	"[ARG...]\n"
	"\n"
	"Fold the aggregate STREAM/ID, run PROGRAM with\n"
	"{\"command\":{...BODY,\"aggregateId\":ID,\"type\":COMMAND},"
	"\"aggregate\":{...}}\n"
	"on stdin, append the events it prints (NDJSON or one JSON array)\n"
	"expecting the version folded, and print the resulting aggregate.\n"
	"A '--' before STREAM ends the options (for names that begin with '-');\n"
	"a second '--' starts PROGRAM.\n"
	"\n"
	"      --jq PROGRAM          fold with a jq program (see evt-fold)\n"
	"      --jq-file FILE        the same, the program read from FILE\n"
	"      --exec COMMAND        fold with a co-process (see evt-fold)\n"
	"      --init JSON           the aggregate before any event (default {})\n"
	"      --persist KEY         keep a snapshot under KEY and resume from it\n"
	"      --timeout SECONDS     stop the reducer or PROGRAM after SECONDS\n"
	"                            (SIGTERM, then SIGKILL 5 s later): exit 5\n"
	"      --retries N           on a version conflict, fold and run again\n"
	"                            up to N times (default 3)\n"
	"      --key KEY             idempotency: a KEY already used for this\n"
	"                            aggregate runs nothing and appends nothing\n"
	EVT_COMMON_USAGE
	EVT_EXIT_USAGE
	"  3  version conflict, after the retries, or a --key used for another\n"
	"     aggregate\n"
	"  4  invalid input: a STREAM with ',', an event PROGRAM printed, a\n"
	"     stored event, a reducer answer\n"
	"  5  PROGRAM (or the --exec reducer) failed or passed --timeout: the\n"
	"     command is rejected\n";

enum { OPT_RETRIES = EVT_OPT_LOCAL, OPT_KEY };

static const struct option options[] = {
	EVT_FOLD_OPTIONS,
	{ "retries", required_argument, NULL, OPT_RETRIES },
	{ "key", required_argument, NULL, OPT_KEY },
	EVT_COMMON_OPTIONS,
	{ NULL, 0, NULL, 0 }
};

/* The option c (getopt_long's answer): EVT_CLI_NEXT to go on, else the
 * exit status to leave with. */
static int read_option(int c, int argc, char **argv, struct evt_store_opts *so,
		       struct evt_fold_opts *fo, struct evt_command *cmd)
{
	int64_t retries;
	int rc;

	if ((rc = evt_cli_fold_opt(fo, c, optarg)))
		return rc == EVT_EUSAGE ? rc : EVT_CLI_NEXT;
	switch (c) {
	case OPT_RETRIES:
		if (evt_parse_i64(optarg, 0, 1000000, &retries) < 0)
			return evt_usage_error("invalid --retries '%s': "
					       "expected a whole number from 0 "
					       "to 1000000", optarg);
		cmd->retries = (int)retries;
		return EVT_CLI_NEXT;
	case OPT_KEY:
		return evt_cli_key(optarg, &cmd->key) ? EVT_EUSAGE :
							  EVT_CLI_NEXT;
	}
	rc = evt_cli_common(c, argc, argv, so, usage);
	return rc == EVT_CLI_OTHER ? EVT_EUSAGE : rc;
}

/* STREAM ID COMMAND [BODY] and PROGRAM, checked, into cmd; BODY in its
 * compact form into body.  0, or the exit status after a message. */
static int operands(struct evt_command *cmd, const struct evt_cli_split *sp,
		    struct evt_buf *body)
{
	char **args = sp->args;
	struct evt_err e = { 0, "" };
	const char *why;
	int rc;

	if (sp->nargs < 3)
		return evt_usage_error("expected STREAM ID COMMAND (see "
				       "evt-command --help)");
	if (sp->nargs > 4)
		return evt_usage_error("too many arguments before '--' (see "
				       "evt-command --help)");
	if (!sp->program)
		return evt_usage_error("expected -- PROGRAM (see evt-command "
				       "--help)");
	if ((rc = evt_cli_write_stream(args[0])))
		return rc;
	if ((why = evt_name_check(args[1], strlen(args[1]))))
		return evt_usage_error("invalid aggregate id '%s': %s", args[1],
				       why);
	if (!*args[2] || !evt_utf8_valid(args[2], strlen(args[2])))
		return evt_usage_error("invalid COMMAND '%s': %s", args[2],
				       *args[2] ? "not valid UTF-8" :
						  "is empty");
	if (cmd->persist && (!*cmd->persist ||
			     strlen(cmd->persist) > EVT_NAME_MAX))
		return evt_usage_error("invalid --persist key '%s': %s",
				       cmd->persist, *cmd->persist ?
				       "longer than 255 bytes" : "is empty");
	if (sp->nargs == 4 && evt_command_body(args[3], body, &e))
		return evt_fail(&e);
	cmd->stream = args[0];
	cmd->id = args[1];
	cmd->name = args[2];
	cmd->body = body->p;
	cmd->argv = sp->program;
	return 0;
}

/* Run the command with the fold of red and print the aggregate. */
static int run(struct evt_command *cmd, struct evt_reducer *red,
	       const char *init)
{
	struct evt_err e = { 0, "" };
	struct evt_buf result = EVT_BUF_INIT;
	struct evt_fold f;
	struct evt_out out;
	int rc;

	cmd->fold = &f;
	if (!(rc = evt_fold_init(&f, red, init, &e))) {
		f.warn = evt_warn_msg;
		rc = evt_command_run(cmd, &result, &e);
	}
	evt_fold_release(&f);
	if (rc) {
		evt_buf_release(&result);
		return evt_fail(&e);
	}
	evt_out_init(&out, 1, EVT_OUT_BLOCK);
	evt_buf_add(&out.b, result.p, result.len);
	evt_buf_addc(&out.b, '\n');
	evt_buf_release(&result);
	if (evt_out_close(&out, &e))
		return evt_fail(&e);
	return 0;
}

int main(int argc, char **argv)
{
	struct evt_store_opts so = { .write = 1, .create = 1, .relaxed = 0 };
	struct evt_command cmd;
	struct evt_reducer *red = NULL;
	struct evt_fold_opts fo;
	struct evt_buf body = EVT_BUF_INIT;
	struct evt_cli_split sp;
	int dd, c, rc = EVT_CLI_NEXT;

	evt_prog = "evt-command";
	evt_cli_sigpipe();
	memset(&cmd, 0, sizeof(cmd));
	memset(&fo, 0, sizeof(fo));
	cmd.retries = 3;
	opterr = 0;
	dd = evt_cli_split_begin(&sp, argc, argv, ":d:h", options);
	while (rc == EVT_CLI_NEXT &&
	       (c = getopt_long(dd, argv, ":d:h", options, NULL)) != -1)
		rc = read_option(c, dd, argv, &so, &fo, &cmd);
	if (rc != EVT_CLI_NEXT)
		return rc;
	if ((rc = evt_cli_split_end(&sp, argc, argv, 3)))
		return rc;
	if (fo.reducers > 1)
		return evt_usage_error("use one reducer: --jq, --jq-file or "
				       "--exec");
	cmd.so = &so;
	cmd.persist = fo.persist;
	cmd.timeout_ms = fo.timeout_ms ? fo.timeout_ms : -1;
	cmd.note = evt_cli_note();
	if (!(rc = operands(&cmd, &sp, &body)) &&
	    !(rc = evt_cli_reducer(&fo, &red)))
		rc = run(&cmd, red, fo.init);
	evt_reducer_free(red);
	evt_buf_release(&body);
	return rc;
}
