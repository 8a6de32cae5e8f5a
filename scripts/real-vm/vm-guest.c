/* The power agent's guest side inside a real VM: librte_power in its KVM_VM environment, asking
 * over the virtio-serial port /dev/virtio-ports/virtio.serial.port.poweragent.LCORE exactly as
 * DPDK's guest_cli does: one request, then ONE rte_power_guest_channel_receive_msg(), which polls
 * for 10 ms (TIMEOUT 10 in lib/power/guest_channel.c). A reply later than that is "timeout" here,
 * as it is for guest_cli ("No confirmation for sent message received").
 *
 *   vm-guest LCORE WORD...     one result line per word on stdout
 *   init | exit | up | down | max | min      -> "<word> ack|nack|timeout|send-failed us=<elapsed>"
 *   burn:SECONDS                              -> spins on guest CPU LCORE, then "burn done"
 *   query-freq-list:VM                        -> "freqs num=N list=..." or "freqs timeout"
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <rte_power.h>
#include <rte_power_guest_channel.h>

static unsigned lc;

static long long now_us(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* guest_cli's check_response_cmd(): a single receive, 10 ms. */
static const char *check_response(void) {
	struct rte_power_channel_packet pkt;
	if (rte_power_guest_channel_receive_msg(&pkt, sizeof pkt, lc) < 0) return "timeout";
	if (pkt.command == RTE_POWER_CMD_ACK) return "ack";
	if (pkt.command == RTE_POWER_CMD_NACK) return "nack";
	return "unexpected";
}

static void scale(const char *word, int (*fn)(unsigned)) {
	long long t0 = now_us();
	int rc = fn(lc);
	if (rc != 1) {
		printf("%s send-failed rc=%d\n", word, rc);
		return;
	}
	const char *r = check_response();
	printf("%s %s us=%lld\n", word, r, now_us() - t0);
}

/* Spins on guest CPU LCORE (= vCPU LCORE), so the host sees that vCPU's thread busy. */
static void burn(double seconds) {
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(lc, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) printf("burn affinity-failed\n");
	long long end = now_us() + (long long)(seconds * 1e6);
	volatile unsigned long x = 0;
	while (now_us() < end)
		for (int i = 0; i < 100000; i++) x += (unsigned long)i;
	printf("burn done\n");
}

static void freq_list(const char *vm) {
	struct rte_power_channel_packet p;
	memset(&p, 0, sizeof(p));
	p.command = RTE_POWER_QUERY_FREQ_LIST;
	snprintf(p.vm_name, sizeof(p.vm_name), "%s", vm);
	if (rte_power_guest_channel_send_msg(&p, lc) != 0) {
		printf("freqs send-failed\n");
		return;
	}
	struct rte_power_channel_packet_freq_list f;
	if (rte_power_guest_channel_receive_msg(&f, sizeof f, lc) < 0) {
		printf("freqs timeout\n");
		return;
	}
	printf("freqs num=%u list=", f.num_vcpu);
	for (unsigned i = 0; i < f.num_vcpu && i < 8; i++) printf("%s%u", i ? "," : "", f.freq_list[i]);
	printf("\n");
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: %s LCORE WORD...\n", argv[0]);
		return 2;
	}
	lc = (unsigned)atoi(argv[1]);
	rte_power_set_env(PM_ENV_KVM_VM);
	for (int i = 2; i < argc; i++) {
		char *w = argv[i];
		char vm[32] = "";
		double secs = 0;
		if (!strcmp(w, "init")) printf("init rc=%d\n", rte_power_init(lc));
		else if (!strcmp(w, "exit")) printf("exit rc=%d\n", rte_power_exit(lc));
		else if (!strcmp(w, "up")) scale(w, rte_power_freq_up);
		else if (!strcmp(w, "down")) scale(w, rte_power_freq_down);
		else if (!strcmp(w, "max")) scale(w, rte_power_freq_max);
		else if (!strcmp(w, "min")) scale(w, rte_power_freq_min);
		else if (sscanf(w, "burn:%lf", &secs) == 1) burn(secs);
		else if (sscanf(w, "query-freq-list:%31s", vm) == 1) freq_list(vm);
		else {
			fprintf(stderr, "unknown word '%s'\n", w);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}
