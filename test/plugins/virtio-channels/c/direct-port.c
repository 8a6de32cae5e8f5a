/* LD_PRELOAD transport for the DPDK guest: QEMU's part of a virtio-serial port without a pty.
 *
 * librte_power opens /dev/virtio-ports/virtio.serial.port.poweragent.N and then only writes,
 * polls (its 10 ms TIMEOUT) and reads that descriptor. Here open() of such a path listens on
 * $VPMD_PORT_DIR/$VPMD_PORT_VM.N, as QEMU does for a <channel type='unix'> with mode='bind',
 * accepts the host's connection and returns the connected socket. Later opens of the same port
 * (the test program's raw words) get a dup of it. Every other open() is the C library's.
 *
 * Why: behind socat, each byte crosses a pty twice per round trip, and a pty hands its data to
 * the reader through a kernel worker thread; on a saturated machine those ordinary tasks (socat
 * and the kworker) wait for a CPU longer than the 10 ms being measured, so the measurement was
 * the harness's, not the host's. With a socket the guest's write wakes the host directly, as the
 * virtio ring wakes QEMU's I/O thread.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define PREFIX "/dev/virtio-ports/virtio.serial.port.poweragent."
#define MAX_PORTS 128

static int ports[MAX_PORTS];
static int ports_ready;

static int real_open(const char *path, int flags, mode_t mode) {
	static int (*next)(const char *, int, ...);
	if (!next) next = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
	return next(path, flags, mode);
}

static int port_open(unsigned n) {
	if (!ports_ready) { for (int i = 0; i < MAX_PORTS; i++) ports[i] = -1; ports_ready = 1; }
	if (n >= MAX_PORTS) { errno = ENOENT; return -1; }
	if (ports[n] >= 0) return dup(ports[n]);
	const char *dir = getenv("VPMD_PORT_DIR"), *vm = getenv("VPMD_PORT_VM");
	if (!dir || !vm) { errno = ENOENT; return -1; }
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s.%u", dir, vm, n);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0) return -1;
	unlink(a.sun_path);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0) { close(l); return -1; }
	fprintf(stderr, "ready %s\n", a.sun_path);
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	/* One host connection per port, as QEMU: later connects are refused. */
	close(l);
	unlink(a.sun_path);
	if (c < 0) return -1;
	ports[n] = c;
	return dup(c);
}

static int open_any(const char *path, int flags, mode_t mode) {
	if (!path || strncmp(path, PREFIX, strlen(PREFIX))) return real_open(path, flags, mode);
	int fd = port_open((unsigned)atoi(path + strlen(PREFIX)));
	/* A dup shares the file status flags: O_NONBLOCK set here holds for every open of the port,
	 * as librte_power sets it on its own descriptor anyway. */
	if (fd >= 0 && (flags & O_NONBLOCK)) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

int open(const char *path, int flags, ...) {
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
	return open_any(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
	return open_any(path, flags, mode);
}
