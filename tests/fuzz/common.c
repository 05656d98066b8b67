/* common.c - helpers and a stub store for the fuzz targets
 *
 * The targets link every module of libevt but the backends: these
 * stubs stand in for them, so nothing a fuzzer generates ever reaches a
 * database or the file system.  A stub open records which backend
 * evt_store_open chose (fuzz_names checks the choice) and fails.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "store_impl.h"

const struct evt_backend *fuzz_chosen;
char fuzz_path[4096];

static int stub_open(struct evt_store *st, struct evt_err *e)
{
	fuzz_chosen = st->be;
	snprintf(fuzz_path, sizeof(fuzz_path), "%s", st->path);
	return evt_errf(e, EVT_EFAIL, "cannot open '%s': fuzzing", st->path);
}

const struct evt_backend evt_sqlite_backend = { .name = "sqlite",
						.open = stub_open };
const struct evt_backend evt_pg_backend = { .name = "postgresql",
					    .schemas = 1,
					    .open = stub_open };
const struct evt_backend evt_my_backend = { .name = "mariadb",
					    .open = stub_open };

void fuzz_check_unique_keys(const char *s, size_t n)
{
	struct evt_buf seen = EVT_BUF_INIT, tmp = EVT_BUF_INIT;
	const char *key, *val;
	size_t at = 0, klen, vlen;

	/* Quadratic, but states here are small: keys NUL-separated. */
	while (evt_json_next(s, n, &at, &key, &klen, &val, &vlen)) {
		size_t cl, i = 0;
		const char *c = evt_json_key(key, klen, &cl, &tmp);

		while (i < seen.len) {
			size_t l = strlen(seen.p + i);

			CHECK(!(l == cl && memcmp(seen.p + i, c, cl) == 0),
			      "key %.*s twice in %.*s", (int)cl, c, (int)n, s);
			i += l + 1;
		}
		if (!memchr(c, '\0', cl)) {
			evt_buf_add(&seen, c, cl);
			evt_buf_addc(&seen, '\0');
		}
	}
	evt_buf_release(&seen);
	evt_buf_release(&tmp);
}

int fuzz_fd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	size_t off = 0;

	if (fd < 0)
		abort();
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);

		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}
