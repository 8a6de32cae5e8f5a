/* A real DPDK guest: librte_power in its KVM_VM environment, driven by words on the command
 * line, one result line per word on stdout. Built and run by the virtio-channels tests and the
 * benchmark, behind a socat pty at /dev/virtio-ports/virtio.serial.port.poweragent.LCORE.
 *
 *   dpdk-guest LCORE WORD...
 *   init | exit | up | down | max | min | turbo-on | turbo-off | sleep:MS | recv-ack
 *   query-freq-list:VM | query-freq:VM:VCPU | query-caps-list:VM | workload:VM:LEVEL
 */
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
		else { fprintf(stderr, "unknown word '%s'\n", w); return 2; }
		fflush(stdout);
	}
	return 0;
}
