/* command.c - run a command against an aggregate (evtstore createCommands) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "append.h"
#include "command.h"
#include "json.h"
#include "ndjson.h"
#include "proc.h"

int evt_command_body(const char *s, struct evt_buf *out, struct evt_err *e)
{
	const char *why;
	size_t col;
	enum evt_jkind k;

	k = evt_json_compact(s, strlen(s), out, NULL, 0, &why, &col);
	if (k == EVT_J_NONE)
		return evt_errf(e, EVT_EUSAGE, "invalid BODY: invalid JSON at "
				"column %zu: %s", col, why);
	if (k != EVT_J_OBJECT)
		return evt_errf(e, EVT_EUSAGE, "invalid BODY: not a JSON object");
	return 0;
}

/* {"command":{...BODY,"aggregateId":ID,"type":COMMAND},"aggregate":AGG} */
static void command_input(const struct evt_command *c, struct evt_agg *a,
			  struct evt_buf *in)
{
	const char *key, *val, *k;
	size_t at = 0, klen, vlen, kl;
	struct evt_buf tmp = EVT_BUF_INIT;
	const char *body = c->body ? c->body : "{}";

	evt_fold_sync(c->fold, a);
	evt_buf_reset(in);
	evt_buf_addstr(in, "{\"command\":{");
	while (evt_json_next(body, strlen(body), &at, &key, &klen, &val,
			     &vlen)) {
		k = evt_json_key(key, klen, &kl, &tmp);
		if ((kl == 13 && memcmp(k, "\"aggregateId\"", 13) == 0) ||
		    (kl == 6 && memcmp(k, "\"type\"", 6) == 0))
			continue;
		evt_buf_add(in, key, klen);
		evt_buf_addc(in, ':');
		evt_buf_add(in, val, vlen);
		evt_buf_addc(in, ',');
	}
	evt_buf_addstr(in, "\"aggregateId\":");
	evt_json_quote(in, c->id, strlen(c->id));
	evt_buf_addstr(in, ",\"type\":");
	evt_json_quote(in, c->name, strlen(c->name));
	evt_buf_addstr(in, "},\"aggregate\":");
	evt_agg_print(a, in);
	evt_buf_addstr(in, "}\n");
	evt_buf_release(&tmp);
}

/* Run c->argv with in on its stdin and its stdout into out, for at most
 * c->timeout_ms (then *timed_out is set). */
static int run_program(const struct evt_command *cmd, char *const *env,
		       const char *in, size_t inlen, struct evt_buf *out,
		       int *status, int *timed_out, struct evt_err *e)
{
	struct evt_spawn sp = { .argv = cmd->argv, .env_add = env,
				.pipe_in = 1, .pipe_out = 1 };
	struct evt_child c;
	struct evt_err ignored;
	int64_t deadline;
	int rc, late, to;

	if ((rc = evt_spawn(&sp, &c, e)))
		return rc;
	deadline = cmd->timeout_ms >= 0 ? evt_mono_ms() + cmd->timeout_ms : -1;
	if ((rc = evt_child_pipe(&c, in, inlen, out, deadline, cmd->note,
				 &late, e))) {
		evt_child_wait(&c, 0, EVT_KILL_MS, status, &to, &ignored);
		return rc;
	}
	/* Past the deadline: 0 ms left, SIGTERM at once. */
	rc = evt_child_wait(&c, evt_ms_until(deadline), EVT_KILL_MS, status,
			    timed_out, e);
	*timed_out |= late;
	return rc;
}

/* PROGRAM's environment: the store as evt-command opened it (so that the
 * program can read other aggregates of it, wherever it changes
 * directory), the aggregate, the command and the version folded. */
static char **program_env(const struct evt_command *c, struct evt_store *st,
			  int64_t version, struct evt_strvec *env)
{
	struct evt_buf store = EVT_BUF_INIT;
	char *senv[4];
	size_t i;

	evt_store_child_env(st, &store, senv);
	evt_strvec_reset(env);
	for (i = 0; senv[i]; i++)
		evt_strvec_addf(env, "%s", senv[i]);
	evt_strvec_addf(env, "EVT_STREAM=%s", c->stream);
	evt_strvec_addf(env, "EVT_AGGREGATE_ID=%s", c->id);
	evt_strvec_addf(env, "EVT_COMMAND=%s", c->name);
	evt_strvec_addf(env, "EVT_VERSION=%lld", (long long)version);
	evt_buf_release(&store);
	return evt_strvec_get(env);
}

static int bad_event(struct evt_err *e, const char *who, const char *where,
		     size_t n)
{
	return evt_errprefix(e, EVT_EINPUT, "%s printed an invalid event: %s "
			     "%zu", who, where, n);
}

int evt_command_events(const char *s, size_t len, struct evt_buf *evs,
		       size_t **ends, size_t *n, const char *who,
		       struct evt_err *e)
{
	size_t i = 0, cap = 0, line = 0;

	*n = 0;
	*ends = NULL;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
			   s[i] == '\n'))
		i++;
	if (i < len && s[i] == '[') {
		struct evt_buf arr = EVT_BUF_INIT;
		const char *why, *key, *val;
		size_t col, at = 0, klen, vlen;

		if (evt_json_compact(s, len, &arr, NULL, 0, &why, &col) !=
		    EVT_J_ARRAY) {
			evt_buf_release(&arr);
			return evt_errf(e, EVT_EINPUT, "%s printed invalid "
					"JSON at column %zu: %s", who, col,
					why);
		}
		while (evt_json_next(arr.p, arr.len, &at, &key, &klen, &val,
				     &vlen)) {
			if (evt_event_parse(val, vlen, evs, e)) {
				evt_buf_release(&arr);
				return bad_event(e, who, "element", *n + 1);
			}
			if (*n == cap) {
				cap = cap ? cap * 2 : 8;
				*ends = evt_xrealloc(*ends, cap * sizeof(**ends));
			}
			(*ends)[(*n)++] = evs->len;
		}
		evt_buf_release(&arr);
		return 0;
	}
	for (i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) : len;

		line++;
		if (!evt_blank(s + i, end - i)) {
			if (evt_event_parse(s + i, end - i, evs, e))
				return bad_event(e, who, "line", line);
			if (*n == cap) {
				cap = cap ? cap * 2 : 8;
				*ends = evt_xrealloc(*ends, cap * sizeof(**ends));
			}
			(*ends)[(*n)++] = evs->len;
		}
		i = end + 1;
	}
	return 0;
}

/* Append the events expecting version; EVT_ECONFLICT when it moved. */
static int append(const struct evt_command *c, int64_t version,
		  const struct evt_buf *evs, const size_t *ends, size_t n,
		  int *replayed, struct evt_err *e)
{
	struct evt_appender ap;
	size_t i, start = 0;
	int rc = 0;

	evt_appender_init(&ap, c->so, 1);
	ap.key = c->key;
	ap.expect = EVT_EXPECT_VERSION;
	ap.expect_version = version;
	for (i = 0; i < n && !rc; i++) {
		struct evt_record r = evt_record_of(c->stream, strlen(c->stream),
						    c->id, strlen(c->id),
						    evs->p + start,
						    ends[i] - start);

		rc = evt_appender_add(&ap, &r, NULL, e);
		start = ends[i];
	}
	if (!rc)
		rc = evt_appender_commit(&ap, NULL, e);
	*replayed = ap.replay;
	evt_appender_release(&ap);
	return rc;
}

/* Was KEY used?  For this aggregate: *done; for another: a conflict. */
static int key_used(const struct evt_command *c, struct evt_store *st,
		    int *done, struct evt_err *e)
{
	struct evt_key k = { EVT_BUF_INIT, EVT_BUF_INIT, 0, 0 };
	int rc;

	rc = evt_store_key_get(st, c->key, &k, done, e);
	if (!rc && *done && (strcmp(k.stream.p, c->stream) != 0 ||
			     strcmp(k.id.p, c->id) != 0))
		rc = evt_errf(e, EVT_ECONFLICT, "key '%s' was used for %s/%s",
			      c->key, k.stream.p, k.id.p);
	evt_buf_release(&k.stream);
	evt_buf_release(&k.id);
	return rc;
}

int evt_command_run(const struct evt_command *c, struct evt_buf *result,
		    struct evt_err *e)
{
	struct evt_store_opts fso = *c->so;
	struct evt_store *st = NULL;
	struct evt_agg a;
	struct evt_buf in = EVT_BUF_INIT, out = EVT_BUF_INIT;
	struct evt_buf evs = EVT_BUF_INIT;
	struct evt_strvec env = EVT_STRVEC_INIT;
	size_t *ends = NULL, n = 0;
	char who[300];
	int attempt, rc, status, timed_out, done = 0;

	snprintf(who, sizeof(who), "'%s'", c->argv[0]);
	/* The fold's connection writes only snapshots: losing one to a power
	 * failure costs a refold, so it needs no durable commit. */
	fso.relaxed = 1;
	if ((rc = evt_store_open(&st, &fso, e)))
		return rc;
	evt_fold_start(c->fold, &a, c->stream, strlen(c->stream), c->id,
		       strlen(c->id));
	if (c->persist)
		rc = evt_fold_snapshot(c->fold, st, &a, c->persist, e);
	if (!rc && c->key && (rc = key_used(c, st, &done, e)) == 0 && done)
		rc = evt_fold_catch_up(c->fold, st, &a, -1, e);
	for (attempt = 0; !rc && !done; attempt++) {
		int64_t version;
		int replayed = 0;

		if ((rc = evt_fold_catch_up(c->fold, st, &a, -1, e)))
			break;
		version = a.version;
		command_input(c, &a, &in);
		evt_buf_reset(&out);
		if ((rc = run_program(c, program_env(c, st, version, &env),
				      in.p, in.len, &out, &status,
				      &timed_out, e)))
			break;
		if (status != 0 || timed_out) {
			char how[128];

			rc = evt_errf(e, EVT_EPROG, "%s %s", who,
				      evt_status_str(status, timed_out,
						     c->timeout_ms, how,
						     sizeof(how)));
			break;
		}
		free(ends);
		evt_buf_reset(&evs);
		if ((rc = evt_command_events(out.p ? out.p : "", out.len,
					     &evs, &ends, &n, who, e)))
			break;
		if (n == 0)
			break;
		rc = append(c, version, &evs, ends, n, &replayed, e);
		if (rc == EVT_ECONFLICT && attempt < c->retries) {
			rc = 0;
			continue;
		}
		if (!rc)
			rc = evt_fold_catch_up(c->fold, st, &a, replayed ? -1 :
					       (int64_t)n, e);
		break;
	}
	if (!rc)
		rc = evt_reducer_finish(c->fold->r, e);
	if (!rc && c->persist)
		evt_fold_save(c->fold, st, &a, c->persist);
	if (!rc) {
		evt_fold_sync(c->fold, &a);
		evt_agg_print(&a, result);
	}
	evt_fold_drop(c->fold, &a);
	evt_store_close(st);
	free(ends);
	evt_buf_release(&in);
	evt_buf_release(&out);
	evt_buf_release(&evs);
	evt_strvec_release(&env);
	return rc;
}
