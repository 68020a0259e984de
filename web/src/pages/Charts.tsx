// Hand-drawn SVG charts from what Ingot records: fleet samples (written by the worker each
// minute) and device events (created → provision succeeded).
import { useState } from "preact/hooks";
import { get } from "../api";
import { Empty, Loading, PageTitle, useLoad } from "../ui";

const COLORS: Record<string, string> = { available: "#2f9e44", allocated: "#1971c2", failed: "#e03131", maintenance: "#f08c00", other: "#868e96" };
const W = 640, H = 200, PAD = 34;

function UsageChart({ series, categories }: { series: any; categories: string[] }) {
  const pts = series.points as any[];
  const t0 = new Date(pts[0].at).getTime();
  const t1 = Math.max(t0 + 1, new Date(pts[pts.length - 1].at).getTime());
  const max = Math.max(1, ...pts.map((p) => categories.reduce((s, c) => s + (p[c] || 0), 0)));
  const x = (at: string) => PAD + ((new Date(at).getTime() - t0) / (t1 - t0)) * (W - PAD - 8);
  const y = (v: number) => H - PAD + 8 - (v / max) * (H - PAD - 8) + 0;
  // stacked areas, bottom category first
  const layers: string[] = [];
  const base = pts.map(() => 0);
  for (const c of categories) {
    const top = pts.map((p, i) => base[i] + (p[c] || 0));
    const upper = pts.map((p, i) => `${x(p.at).toFixed(1)},${y(top[i]).toFixed(1)}`);
    const lower = pts.map((p, i) => `${x(p.at).toFixed(1)},${y(base[i]).toFixed(1)}`).reverse();
    if (pts.length === 1) {
      const x0 = PAD, x1 = W - 8;
      layers.push(`${x0},${y(top[0])} ${x1},${y(top[0])} ${x1},${y(base[0])} ${x0},${y(base[0])}`);
    } else layers.push([...upper, ...lower].join(" "));
    top.forEach((v, i) => (base[i] = v));
  }
  const last = pts[pts.length - 1];
  return (
    <figure class="chart">
      <figcaption><strong>{series.metro} / {series.plan}</strong> — now: {categories.map((c) => `${c} ${last[c] || 0}`).join(", ")}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Fleet use of ${series.plan} in ${series.metro}`}>
        <line x1={PAD} y1={y(0)} x2={W - 8} y2={y(0)} class="axis" />
        <line x1={PAD} y1={y(max)} x2={W - 8} y2={y(max)} class="grid" />
        <text x={PAD - 6} y={y(max) + 4} class="tick" text-anchor="end">{max}</text>
        <text x={PAD - 6} y={y(0) + 4} class="tick" text-anchor="end">0</text>
        {layers.map((poly, i) => <polygon points={poly} fill={COLORS[categories[i]] || "#999"} opacity="0.85" />)}
        <text x={PAD} y={H - 6} class="tick">{new Date(t0).toLocaleString()}</text>
        <text x={W - 8} y={H - 6} class="tick" text-anchor="end">{new Date(t1).toLocaleString()}</text>
      </svg>
    </figure>
  );
}

function Histogram({ devices, summary }: { devices: any[]; summary: any }) {
  const values = devices.map((d) => d.seconds as number);
  const bins = Math.min(20, Math.max(5, Math.ceil(Math.sqrt(values.length))));
  const lo = Math.min(...values), hi = Math.max(...values);
  const width = Math.max((hi - lo) / bins, 0.001);
  const counts = new Array(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))] += 1;
  const max = Math.max(...counts);
  const bw = (W - PAD - 8) / bins;
  const fmt = (s: number) => (s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);
  return (
    <figure class="chart">
      <figcaption>Create → active of the last {summary.count} devices: median <strong>{fmt(summary.median)}</strong>, 90th percentile <strong>{fmt(summary.p90)}</strong>, fastest {fmt(summary.min)}, slowest {fmt(summary.max)}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Distribution of provisioning times">
        <line x1={PAD} y1={H - PAD + 8} x2={W - 8} y2={H - PAD + 8} class="axis" />
        {counts.map((c, i) => {
          const h = (c / max) * (H - PAD - 8);
          return (
            <g>
              <rect x={PAD + i * bw + 1} y={H - PAD + 8 - h} width={Math.max(1, bw - 2)} height={h} fill="#1971c2">
                <title>{`${fmt(lo + i * width)} – ${fmt(lo + (i + 1) * width)}: ${c} devices`}</title>
              </rect>
              {c ? <text x={PAD + i * bw + bw / 2} y={H - PAD + 4 - h} class="tick" text-anchor="middle">{c}</text> : null}
            </g>
          );
        })}
        <text x={PAD} y={H - 6} class="tick">{fmt(lo)}</text>
        <text x={W - 8} y={H - 6} class="tick" text-anchor="end">{fmt(hi)}</text>
      </svg>
    </figure>
  );
}

export function Charts() {
  const [hours, setHours] = useState(6);
  const [last, setLast] = useState(100);
  const usage = useLoad(() => get(`/fleet/usage?hours=${hours}`), [hours], 60000);
  const times = useLoad(() => get(`/fleet/provisioning-times?last=${last}`), [last], 30000);
  return (
    <>
      <PageTitle>Charts</PageTitle>
      <h2>Fleet use</h2>
      <div class="filters">
        <label>Over the last <select value={hours} onChange={(e) => setHours(parseFloat((e.target as HTMLSelectElement).value))}>
          {[1, 6, 24, 72, 168, 336].map((h) => <option value={h}>{h < 48 ? `${h} h` : `${h / 24} days`}</option>)}</select></label>
        <ul class="legend">{Object.entries(COLORS).map(([c, col]) => <li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill={col} /></svg> {c}</li>)}</ul>
      </div>
      <Loading state={usage}>{(u: any) => u.series.length === 0 ? <Empty>No machines yet.</Empty> : (
        <div class="charts">{u.series.map((s: any) => <UsageChart series={s} categories={u.categories} />)}</div>)}</Loading>
      <p class="muted small">The worker records the fleet once a minute; the last point is now.</p>
      <h2>Provisioning times</h2>
      <div class="filters">
        <label>Last <select value={last} onChange={(e) => setLast(parseInt((e.target as HTMLSelectElement).value, 10))}>
          {[20, 50, 100, 500, 1000].map((n) => <option value={n}>{n}</option>)}</select> devices</label>
      </div>
      <Loading state={times}>{(t: any) => t.devices.length === 0 ? <Empty>No device has become active yet.</Empty> : <Histogram devices={t.devices} summary={t.summary} />}</Loading>
    </>
  );
}
