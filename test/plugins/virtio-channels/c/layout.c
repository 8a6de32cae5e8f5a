/* Prints the layout of DPDK's power channel structs from the real header, and three structs
 * filled through the real types, as JSON. Built and run by layout-c.test.ts. */
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <rte_power_guest_channel.h>

#define OFF(T, f) printf("\"%s\":%zu,", #f, offsetof(struct T, f))

static void hex(const char *key, const void *p, size_t n, int last) {
	const unsigned char *b = p;
	printf("\"%s\":\"", key);
	for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
	printf("\"%s", last ? "" : ",");
}

int main(void) {
	printf("{\"sizes\":{\"request\":%zu,\"freq_list\":%zu,\"caps_list\":%zu},", sizeof(struct rte_power_channel_packet),
	       sizeof(struct rte_power_channel_packet_freq_list), sizeof(struct rte_power_channel_packet_caps_list));
	printf("\"request\":{");
	OFF(rte_power_channel_packet, resource_id); OFF(rte_power_channel_packet, unit); OFF(rte_power_channel_packet, command);
	OFF(rte_power_channel_packet, vm_name); OFF(rte_power_channel_packet, vfid); OFF(rte_power_channel_packet, nb_mac_to_monitor);
	OFF(rte_power_channel_packet, traffic_policy); OFF(rte_power_channel_packet, vcpu_to_control); OFF(rte_power_channel_packet, num_vcpu);
	OFF(rte_power_channel_packet, timer_policy);
	printf("\"busy_hours\":%zu,\"quiet_hours\":%zu,\"hours_to_use_traffic_profile\":%zu,",
	       offsetof(struct rte_power_channel_packet, timer_policy) + offsetof(struct rte_power_timer_profile, busy_hours),
	       offsetof(struct rte_power_channel_packet, timer_policy) + offsetof(struct rte_power_timer_profile, quiet_hours),
	       offsetof(struct rte_power_channel_packet, timer_policy) + offsetof(struct rte_power_timer_profile, hours_to_use_traffic_profile));
	OFF(rte_power_channel_packet, core_type); OFF(rte_power_channel_packet, workload); OFF(rte_power_channel_packet, policy_to_use);
	printf("\"t_boost_status\":%zu},", offsetof(struct rte_power_channel_packet, t_boost_status));
	printf("\"freq_list\":{");
	OFF(rte_power_channel_packet_freq_list, resource_id); OFF(rte_power_channel_packet_freq_list, unit);
	OFF(rte_power_channel_packet_freq_list, command); OFF(rte_power_channel_packet_freq_list, vm_name);
	OFF(rte_power_channel_packet_freq_list, freq_list);
	printf("\"num_vcpu\":%zu},", offsetof(struct rte_power_channel_packet_freq_list, num_vcpu));
	printf("\"caps_list\":{");
	OFF(rte_power_channel_packet_caps_list, resource_id); OFF(rte_power_channel_packet_caps_list, unit);
	OFF(rte_power_channel_packet_caps_list, command); OFF(rte_power_channel_packet_caps_list, vm_name);
	OFF(rte_power_channel_packet_caps_list, turbo); OFF(rte_power_channel_packet_caps_list, priority);
	printf("\"num_vcpu\":%zu},", offsetof(struct rte_power_channel_packet_caps_list, num_vcpu));

	struct rte_power_channel_packet p;
	memset(&p, 0, sizeof(p));
	p.resource_id = 0x0102030405060708ULL;
	p.unit = RTE_POWER_SCALE_MAX;
	p.command = RTE_POWER_PKT_POLICY;
	strcpy(p.vm_name, "guest-7");
	memset(p.vm_name + 8, 'J', 20); /* junk after the NUL, as uninitialised guest memory */
	p.vfid[0] = 0x0000525400123456ULL;
	p.vfid[9] = 0xAABBCCDDEEFF0011ULL;
	p.nb_mac_to_monitor = -5;
	p.traffic_policy.min_packet_thresh = 11;
	p.traffic_policy.avg_max_packet_thresh = 222;
	p.traffic_policy.max_max_packet_thresh = 3333;
	for (int i = 0; i < 8; i++) p.vcpu_to_control[i] = (uint8_t)(7 - i);
	p.num_vcpu = 8;
	p.timer_policy.busy_hours[0] = 9;
	p.timer_policy.busy_hours[23] = -1;
	p.timer_policy.quiet_hours[5] = 2;
	p.timer_policy.hours_to_use_traffic_profile[12] = 13;
	p.core_type = true;
	p.workload = RTE_POWER_WL_LOW;
	p.policy_to_use = RTE_POWER_POLICY_TIME;
	p.t_boost_status.tbEnabled = true;
	hex("requestHex", &p, sizeof(p), 0);

	struct rte_power_channel_packet_freq_list f;
	memset(&f, 0, sizeof(f));
	f.resource_id = 3; f.unit = 0; f.command = RTE_POWER_FREQ_LIST;
	strcpy(f.vm_name, "vm1");
	for (int i = 0; i < 8; i++) f.freq_list[i] = 1200000 + 100000 * i;
	f.num_vcpu = 8;
	hex("freqListHex", &f, sizeof(f), 0);

	struct rte_power_channel_packet_caps_list c;
	memset(&c, 0, sizeof(c));
	c.resource_id = 1; c.command = RTE_POWER_CAPS_LIST;
	strcpy(c.vm_name, "vm1");
	c.turbo[0] = 1; c.turbo[1] = 0; c.priority[0] = 0; c.priority[1] = 1;
	c.num_vcpu = 2;
	hex("capsListHex", &c, sizeof(c), 1);
	printf("}\n");
	return 0;
}
