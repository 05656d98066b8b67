/* dl.c - load a shared library at run time and resolve its functions */
#include <dlfcn.h>
#include <string.h>

#include "dl.h"

void *evt_dl_bind(const char *lib, const struct evt_dl_fn *fns, size_t n,
		  void *api, const char **missing, const char **err)
{
	void *h = dlopen(lib, RTLD_LAZY | RTLD_LOCAL);
	size_t i;

	*missing = NULL;
	*err = NULL;
	if (!h) {
		*err = dlerror();
		return NULL;
	}
	for (i = 0; i < n; i++) {
		void *p = dlsym(h, fns[i].name);

		if (!p) {
			*missing = fns[i].name;
			dlclose(h);
			return NULL;
		}
		/* a function pointer stored as dlsym gives it (POSIX) */
		memcpy((char *)api + fns[i].off, &p, sizeof(p));
	}
	return h;
}
