/**
 * Walks the Chassis, Systems and Managers collections of a service and reports every link
 * without its reverse (DSP0268: Chassis ComputerSystems / ComputerSystem Chassis, Chassis
 * ManagedBy / Manager ManagerForChassis, ComputerSystem ManagedBy / Manager ManagerForServers,
 * Chassis ManagersInChassis / Manager ManagerInChassis), every link to a resource that is not
 * there, and every system that more than one chassis holds: DMTF's Tacklebox `rf_sys_inventory`
 * walks each chassis' ComputerSystems and would list that system's processors once per chassis.
 */
import type { RfBody } from './support.js';

type Get = (uri: string) => Promise<RfBody>;
type Links = Readonly<Record<string, unknown>>;

/** The `@odata.id`s of a `Links` property (an array of links or one link); none when absent. */
function ids(links: Links | undefined, name: string): string[] {
  const v = links?.[name];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((l) => String((l as { '@odata.id'?: unknown })['@odata.id']));
}

/** Each resource of a collection, by `@odata.id`, with its `Links`. */
async function linksOf(get: Get, collection: string): Promise<Map<string, Links>> {
  const out = new Map<string, Links>();
  for (const m of (await get(collection)).Members) {
    const body = await get(m['@odata.id']);
    out.set(body['@odata.id'], body.Links ?? {});
  }
  return out;
}

/** Every broken reverse link, dangling link and system held by more than one chassis; [] when sound. */
export async function linkProblems(get: Get): Promise<string[]> {
  const chassis = await linksOf(get, '/redfish/v1/Chassis');
  const systems = await linksOf(get, '/redfish/v1/Systems');
  const managers = await linksOf(get, '/redfish/v1/Managers');
  const problems: string[] = [];
  const pair = (
    from: Map<string, Links>,
    forward: string,
    to: Map<string, Links>,
    backward: string,
    single = false,
  ): void => {
    for (const [a, la] of from)
      for (const b of ids(la, forward)) {
        const lb = to.get(b);
        if (lb === undefined) problems.push(`${a} ${forward} links ${b}, which is not in its collection`);
        else if (!ids(lb, backward).includes(a))
          problems.push(`${a} ${forward} links ${b}, whose ${backward} lacks it`);
      }
    if (single)
      for (const [a, la] of from)
        if (ids(la, forward).length > 1) problems.push(`${a} ${forward} names more than one resource`);
  };
  pair(chassis, 'ComputerSystems', systems, 'Chassis');
  pair(systems, 'Chassis', chassis, 'ComputerSystems');
  pair(chassis, 'ManagedBy', managers, 'ManagerForChassis');
  pair(managers, 'ManagerForChassis', chassis, 'ManagedBy');
  pair(systems, 'ManagedBy', managers, 'ManagerForServers');
  pair(managers, 'ManagerForServers', systems, 'ManagedBy');
  pair(chassis, 'ManagersInChassis', managers, 'ManagerInChassis');
  pair(managers, 'ManagerInChassis', chassis, 'ManagersInChassis', true);
  for (const s of systems.keys()) {
    const holders = [...chassis].filter(([, l]) => ids(l, 'ComputerSystems').includes(s)).map(([c]) => c);
    if (holders.length > 1) problems.push(`${s} is held by ${holders.length} chassis (${holders.join(', ')})`);
    if (holders.length === 0) problems.push(`${s} is held by no chassis`);
  }
  return problems;
}
