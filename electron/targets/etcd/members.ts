/**
 * An etcd cluster's membership as a watch sees it: the members etcd lists, each named and with
 * the endpoint to ask (and why a member is not asked at all), whether a new list is another
 * membership, and asking an endpoint for the list.
 */
import type { IMember } from 'etcd3';
import { explainEtcdError, hexId, memberClient, within, type EtcdAccess, type EtcdProblem } from '../../clients/etcd.js';

/** Opening waits this long for the membership. */
export const OPEN_TIMEOUT_MS = 3_000;

/** One member, as etcd lists it. */
export interface EtcdMemberInfo {
  /** The node's id: etcd's member name (its id in hex when it has none). */
  name: string;
  /** etcd's member id, decimal; null until known. */
  memberId: string | null;
  /** Where this console asks for its status; null when it advertises none. */
  endpoint: string | null;
  voting: boolean;
  /** Why this console does not ask it at all: its only URL would carry the password in clear to a URL the user did not name. */
  withheld?: string;
}

/**
 * The members etcd lists (it lists them by id), named and in the order of their names, each with
 * the endpoint to ask: one the user gave if it is the member's, else the first URL it advertises
 * (an https one first when a password goes along). A password goes over plain HTTP only to URLs
 * the user named: a member that advertises nothing else is not asked (`withheld` says why), as
 * its URL could be anyone's on the way.
 */
export function membersFrom(members: IMember[], endpoints: string[], username?: string): EtcdMemberInfo[] {
  const given = new Map(endpoints.map((endpoint) => [new URL(endpoint).origin, endpoint]));
  const names = new Set<string>();
  const named = members.map((member): EtcdMemberInfo => {
    let name = member.name !== '' && member.name.length <= 64 ? member.name : hexId(member.ID);
    if (names.has(name)) name = hexId(member.ID);
    names.add(name);
    const chosen = member.clientURLs.map((url) => given.get(safeOrigin(url))).find((url) => url !== undefined);
    const advertised = (username === undefined ? undefined : member.clientURLs.find((url) => url.startsWith('https:'))) ?? member.clientURLs[0];
    const endpoint = chosen ?? advertised ?? null;
    const info = { name, memberId: member.ID, endpoint, voting: !member.isLearner };
    if (chosen !== undefined || endpoint === null || username === undefined || endpoint.startsWith('https:')) return info;
    return {
      ...info,
      withheld: `${name} advertises only plain-HTTP URLs (${endpoint}) that were not given with --etcd: the password of "${username}" goes in clear only to URLs you name; add ${endpoint} to --etcd to watch it, or serve etcd over https`,
    };
  });
  return named.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export function sameMembership(a: EtcdMemberInfo[], b: EtcdMemberInfo[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (member, index) =>
        member.name === b[index]!.name && member.memberId === b[index]!.memberId && member.voting === b[index]!.voting && member.endpoint === b[index]!.endpoint && member.withheld === b[index]!.withheld,
    )
  );
}

export interface MemberList {
  endpoint: string;
  members: IMember[];
}

export async function listMembers(endpoint: string, access: EtcdAccess): Promise<MemberList | { endpoint: string; problem: EtcdProblem }> {
  const client = memberClient(endpoint, access);
  try {
    return { endpoint, members: (await client.cluster.memberList({}, within(OPEN_TIMEOUT_MS))).members };
  } catch (error) {
    return { endpoint, problem: explainEtcdError(error, endpoint, access) };
  } finally {
    client.close();
  }
}
