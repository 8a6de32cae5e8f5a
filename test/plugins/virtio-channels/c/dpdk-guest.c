/* A real DPDK guest: librte_power in its KVM_VM environment, driven by words on the command
 * line, one result line per word on stdout. Built and run by the virtio-channels tests and the
 * benchmark, behind a socat pty at /dev/virtio-ports/virtio.serial.port.poweragent.LCORE.
 *
 *   dpdk-guest LCORE WORD...
 *   init | exit | up | down | max | min | turbo-on | turbo-off | sleep:MS | recv-ack
 *   query-freq-list:VM | query-freq:VM:VCPU | query-caps-list:VM | workload:VM:LEVEL
 *
 * Words that hold the host to DPDK's contract: one receive, with the library's own 10 ms
 * timeout (TIMEOUT in guest_channel.c), no retry. A late reply prints `late`, and is then read
 * by the next receive as the answer to the wrong request, exactly as in a DPDK application.
 *   strict-max | strict-min        send, then one receive: `strict ok|late|wrong|nack US`
 *   paced:N                        N alternating up/down, each followed by one receive
 *   strict-query:VM                QUERY_FREQ_LIST, one receive of the 88-byte FREQ_LIST
 *   flood:MS                       raw writes of up/down for MS ms, 64 in flight, replies drained
 *   garbage:N                      N bytes of 0xAB written raw on the port
 *   trace:N                        paced:N with timestamps of every reply slower than 1 ms
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <rte_power.h>
#include <rte_power_guest_channel.h>

static unsigned lc;

/* The library polls 10 ms per receive; keep asking for up to 3 s on a loaded test machine. */
static int recv_retry(void *pkt, size_t len) {
	for (int i = 0; i < 300; i++)
		if (rte_power_guest_channel_receive_msg(pkt, len, lc) == 0) return 0;
	return -1;
}

static void query(const char *vm, unsigned cmd, unsigned long long res) {
	struct rte_power_channel_packet p;
	memset(&p, 0, sizeof(p));
	p.command = cmd;
	p.resource_id = res;
	snprintf(p.vm_name, sizeof(p.vm_name), "%s", vm);
	if (rte_power_guest_channel_send_msg(&p, lc) != 0) { printf("send-failed\n"); return; }
	if (cmd == RTE_POWER_QUERY_CAPS_LIST || cmd == RTE_POWER_QUERY_CAPS) {
		struct rte_power_channel_packet_caps_list c;
		if (recv_retry(&c, sizeof(c)) != 0) { printf("no-reply\n"); return; }
		printf("caps cmd=%u num=%u turbo=", c.command, c.num_vcpu);
		for (int i = 0; i < c.num_vcpu && i < 8; i++) printf("%s%llu", i ? "," : "", (unsigned long long)c.turbo[i]);
		printf(" priority=");
		for (int i = 0; i < c.num_vcpu && i < 8; i++) printf("%s%llu", i ? "," : "", (unsigned long long)c.priority[i]);
		printf("\n");
	} else {
		struct rte_power_channel_packet_freq_list f;
		if (recv_retry(&f, sizeof(f)) != 0) { printf("no-reply\n"); return; }
		printf("freqs cmd=%u num=%u list=", f.command, f.num_vcpu);
		for (int i = 0; i < 8; i++) printf("%s%u", i ? "," : "", f.freq_list[i]);
		printf("\n");
	}
}

static double now_us(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* One send through the library, one receive with its 10 ms timeout. 0 ok, 1 late, 2 wrong, 3 nack. */
static int strict(unsigned unit, double *us) {
	struct rte_power_channel_packet r;
	double t0 = now_us();
	int rc = unit == RTE_POWER_SCALE_UP ? rte_power_freq_up(lc)
		: unit == RTE_POWER_SCALE_DOWN ? rte_power_freq_down(lc)
		: unit == RTE_POWER_SCALE_MAX ? rte_power_freq_max(lc) : rte_power_freq_min(lc);
	if (rc < 0) return 2;
	if (rte_power_guest_channel_receive_msg(&r, sizeof(r), lc) != 0) { *us = now_us() - t0; return 1; }
	*us = now_us() - t0;
	if (r.unit != unit || r.resource_id != lc) return 2;
	return r.command == RTE_POWER_CMD_ACK ? 0 : 3;
}

static const char *OUTCOME[] = { "ok", "late", "wrong", "nack" };

static void paced(int n) {
	int count[4] = { 0, 0, 0, 0 };
	double max = 0, us = 0;
	for (int i = 0; i < n; i++) {
		int o = strict(i % 2 ? RTE_POWER_SCALE_DOWN : RTE_POWER_SCALE_UP, &us);
		count[o]++;
		if (us > max) max = us;
	}
	printf("paced n=%d ok=%d late=%d wrong=%d nack=%d max_us=%.0f\n", n, count[0], count[1], count[2], count[3], max);
}

static void strict_query(const char *vm) {
	struct rte_power_channel_packet p;
	struct rte_power_channel_packet_freq_list f;
	memset(&p, 0, sizeof(p));
	p.command = RTE_POWER_QUERY_FREQ_LIST;
	p.resource_id = lc;
	snprintf(p.vm_name, sizeof(p.vm_name), "%s", vm);
	double t0 = now_us();
	if (rte_power_guest_channel_send_msg(&p, lc) != 0) { printf("send-failed\n"); return; }
	if (rte_power_guest_channel_receive_msg(&f, sizeof(f), lc) != 0) { printf("strict-query late\n"); return; }
	printf("strict-query cmd=%u num=%u us=%.0f\n", f.command, f.num_vcpu, now_us() - t0);
}

static int raw_fd(void) {
	char path[128];
	snprintf(path, sizeof(path), "/dev/virtio-ports/virtio.serial.port.poweragent.%u", lc);
	return open(path, O_RDWR | O_NONBLOCK);
}

/* As fast as the channel takes them: up to 64 requests in flight, replies read as they come. */
static void flood(long ms) {
	int fd = raw_fd();
	if (fd < 0) { printf("flood open-failed %s\n", strerror(errno)); return; }
	struct rte_power_channel_packet p;
	memset(&p, 0, sizeof(p));
	p.command = RTE_POWER_CPU_POWER;
	p.resource_id = lc;
	char rx[65536];
	long sent = 0, got = 0, partial = 0, bytes = 0;
	double end = now_us() + ms * 1000.0;
	while (now_us() < end) {
		if (sent - got < 64) {
			p.unit = sent % 2 ? RTE_POWER_SCALE_DOWN : RTE_POWER_SCALE_UP;
			ssize_t w = write(fd, (char *)&p + partial, sizeof(p) - partial);
			if (w > 0) { partial += w; if (partial == (long)sizeof(p)) { partial = 0; sent++; } }
		}
		ssize_t r = read(fd, rx, sizeof(rx));
		if (r > 0) { bytes += r; got = bytes / (long)sizeof(p); }
		else if (sent - got >= 64 || partial) {
			struct pollfd pf = { fd, POLLIN | POLLOUT, 0 };
			poll(&pf, 1, 1);
		}
	}
	/* Read what is still coming, so that the channel is clean for the next words. */
	double stop = now_us() + 2e6;
	while (got < sent && now_us() < stop) {
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, 50) > 0) { ssize_t r = read(fd, rx, sizeof(rx)); if (r > 0) { bytes += r; got = bytes / (long)sizeof(p); } }
	}
	close(fd);
	printf("flood sent=%ld replies=%ld\n", sent, got);
}

/* Where the time of each reply goes: N paced requests, each one timestamped (CLOCK_MONOTONIC, the
 * clock of Node's process.hrtime) before the send, after it, and when the reply was readable. A
 * reply the library's 10 ms poll missed is still waited for (up to 1 s), so the line says when it
 * came. Prints `trace I SEND_US SENT_US READY_US OUTCOME` for each reply slower than 1 ms. */
static void trace(int n) {
	struct rte_power_channel_packet r;
	int late = 0;
	double max = 0;
	for (int i = 0; i < n; i++) {
		unsigned unit = i % 2 ? RTE_POWER_SCALE_DOWN : RTE_POWER_SCALE_UP;
		double t0 = now_us();
		int rc = unit == RTE_POWER_SCALE_UP ? rte_power_freq_up(lc) : rte_power_freq_down(lc);
		double t1 = now_us();
		if (rc < 0) { printf("trace send-failed\n"); return; }
		int ok = rte_power_guest_channel_receive_msg(&r, sizeof(r), lc) == 0;
		double t2 = now_us();
		int missed = !ok;
		if (missed) {
			late++;
			/* The library gave up: wait for the reply itself, on the same descriptor's data. */
			for (int k = 0; k < 100 && !ok; k++) ok = rte_power_guest_channel_receive_msg(&r, sizeof(r), lc) == 0;
			t2 = now_us();
		}
		if (t2 - t1 > max) max = t2 - t1;
		if (t2 - t1 > 1000 || !ok)
			printf("trace %d %.0f %.0f %.0f %s\n", i, t0, t1, t2, !ok ? "lost" : missed ? "late" : "ok");
	}
	printf("trace n=%d late=%d max_us=%.0f\n", n, late, max);
}

static void garbage(int n) {
	int fd = raw_fd();
	char junk[4096];
	memset(junk, 0xAB, sizeof(junk));
	if (fd < 0 || n > (int)sizeof(junk)) { printf("garbage failed\n"); return; }
	printf("garbage wrote=%zd\n", write(fd, junk, n));
	close(fd);
}

static void workload(const char *vm, int level) {
	struct rte_power_channel_packet p;
	memset(&p, 0, sizeof(p));
	p.command = RTE_POWER_PKT_POLICY;
	p.policy_to_use = RTE_POWER_POLICY_WORKLOAD;
	p.workload = level;
	p.num_vcpu = 1;
	p.vcpu_to_control[0] = lc;
	snprintf(p.vm_name, sizeof(p.vm_name), "%s", vm);
	printf("policy rc=%d\n", rte_power_guest_channel_send_msg(&p, lc));
}

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: %s LCORE WORD...\n", argv[0]); return 2; }
	lc = (unsigned)atoi(argv[1]);
	rte_power_set_env(PM_ENV_KVM_VM);
	for (int i = 2; i < argc; i++) {
		char *w = argv[i];
		char vm[32] = "";
		unsigned a = 0;
		if (!strcmp(w, "init")) printf("init rc=%d\n", rte_power_init(lc));
		else if (!strcmp(w, "exit")) printf("exit rc=%d\n", rte_power_exit(lc));
		else if (!strcmp(w, "up")) printf("up rc=%d\n", rte_power_freq_up(lc));
		else if (!strcmp(w, "down")) printf("down rc=%d\n", rte_power_freq_down(lc));
		else if (!strcmp(w, "max")) printf("max rc=%d\n", rte_power_freq_max(lc));
		else if (!strcmp(w, "min")) printf("min rc=%d\n", rte_power_freq_min(lc));
		else if (!strcmp(w, "turbo-on")) printf("turbo-on rc=%d\n", rte_power_freq_enable_turbo(lc));
		else if (!strcmp(w, "turbo-off")) printf("turbo-off rc=%d\n", rte_power_freq_disable_turbo(lc));
		else if (!strncmp(w, "sleep:", 6)) {
			struct timespec ts = { 0, atol(w + 6) * 1000000L };
			while (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
			nanosleep(&ts, NULL);
		} else if (!strcmp(w, "recv-ack")) {
			struct rte_power_channel_packet p;
			if (recv_retry(&p, sizeof(p)) != 0) printf("no-reply\n");
			else printf("ack cmd=%u unit=%u resource=%llu\n", p.command, p.unit, (unsigned long long)p.resource_id);
		} else if (sscanf(w, "query-freq-list:%31s", vm) == 1) query(vm, RTE_POWER_QUERY_FREQ_LIST, 0);
		else if (sscanf(w, "query-caps-list:%31s", vm) == 1) query(vm, RTE_POWER_QUERY_CAPS_LIST, 0);
		else if (sscanf(w, "query-freq:%31[^:]:%u", vm, &a) == 2) query(vm, RTE_POWER_QUERY_FREQ, a);
		else if (sscanf(w, "workload:%31[^:]:%u", vm, &a) == 2) workload(vm, (int)a);
		else if (!strcmp(w, "strict-max") || !strcmp(w, "strict-min")) {
			double us = 0;
			int o = strict(!strcmp(w, "strict-max") ? RTE_POWER_SCALE_MAX : RTE_POWER_SCALE_MIN, &us);
			printf("strict %s %.0f\n", OUTCOME[o], us);
		} else if (sscanf(w, "paced:%u", &a) == 1) paced((int)a);
		else if (sscanf(w, "strict-query:%31s", vm) == 1) strict_query(vm);
		else if (sscanf(w, "flood:%u", &a) == 1) flood((long)a);
		else if (sscanf(w, "trace:%u", &a) == 1) trace((int)a);
		else if (sscanf(w, "garbage:%u", &a) == 1) garbage((int)a);
		else { fprintf(stderr, "unknown word '%s'\n", w); return 2; }
		fflush(stdout);
	}
	return 0;
}
