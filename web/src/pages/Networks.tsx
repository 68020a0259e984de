// VLANs and BGP appear when the API has them (the networking API lands separately):
// the console asks, and shows these pages only if the answer is not a 404 or 501.
import { useEffect, useState } from "preact/hooks";
import { ApiError, enc, get } from "../api";
import { Empty, Json, Loading, PageTitle, useLoad, when } from "../ui";

const VLANS = (pid: string) => `/projects/${enc(pid)}/virtual-networks`;
const BGP = (pid: string) => `/projects/${enc(pid)}/bgp-config`;
const known = new Map<string, boolean>();

async function answers(path: string): Promise<boolean> {
  if (known.has(path)) return known.get(path)!;
  let ok = true;
  try {
    await get(path);
  } catch (e) {
    ok = !(e instanceof ApiError && (e.status === 404 || e.status === 501 || e.status === 405));
  }
  known.set(path, ok);
  return ok;
}

export function useNetworkApis(pid: string | null) {
  const [state, setState] = useState({ vlans: false, bgp: false });
  useEffect(() => {
    if (!pid) return;
    Promise.all([answers(VLANS(pid)), answers(BGP(pid))]).then(([vlans, bgp]) => setState({ vlans, bgp }));
  }, [pid]);
  return state;
}

export function Networks({ pid }: { pid: string }) {
  const apis = useNetworkApis(pid);
  const vlans = useLoad(() => (apis.vlans ? get(VLANS(pid)) : Promise.resolve(null)), [pid, apis.vlans]);
  const bgp = useLoad(() => (apis.bgp ? get(BGP(pid)) : Promise.resolve(null)), [pid, apis.bgp]);
  return (
    <>
      <PageTitle>VLANs & BGP</PageTitle>
      {!apis.vlans && !apis.bgp ? <Empty>This Ingot has no VLAN or BGP API.</Empty> : null}
      {apis.vlans ? (
        <>
          <h2>VLANs</h2>
          <Loading state={vlans}>{(d: any) => {
            const list = d?.virtual_networks || [];
            return list.length === 0 ? <Empty>No VLANs in this project.</Empty> : (
              <div class="table-wrap"><table class="list" aria-label="VLANs">
                <thead><tr><th>VXLAN</th><th>Metro</th><th>Description</th><th>Created</th></tr></thead>
                <tbody>{list.map((v: any) => (
                  <tr><td>{v.vxlan ?? "—"}</td><td>{v.metro_code || v.metro?.code || "—"}</td><td>{v.description || "—"}</td><td>{when(v.created_at)}</td></tr>))}
                </tbody></table></div>);
          }}</Loading>
        </>
      ) : null}
      {apis.bgp ? (
        <>
          <h2>BGP</h2>
          <Loading state={bgp}>{(d: any) => d ? (
            <dl class="facts">
              <dt>Status</dt><dd>{d.status || "—"}</dd>
              <dt>ASN</dt><dd>{d.asn ?? "—"}</dd>
              <dt>Deployment</dt><dd>{d.deployment_type || "—"}</dd>
              <dt>Max prefixes</dt><dd>{d.max_prefix ?? "—"}</dd>
              <dt>All of it</dt><dd><Json value={d} /></dd>
            </dl>) : <Empty>BGP is not enabled for this project.</Empty>}</Loading>
        </>
      ) : null}
    </>
  );
}
