// The last hour of traffic from GET /admin/v1/stats (the counters /metrics exposes), refreshed every 10 s.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { call, type Stats } from '../api.js';
import { Empty } from '../components/ui.js';

const REFRESH_MS = 10_000;

interface Series {
  readonly label: string;
  readonly stroke: string;
  /** The rate shown, from one point's count over `seconds`. */
  readonly rate: (point: Stats['points'][number], seconds: number) => number;
}

// Colour-blind-safe hues (Okabe–Ito), each dark enough against white.
const SERIES: readonly Series[] = [
  { label: 'Requests per second', stroke: '#0067a5', rate: (p, s) => p.requests / s },
  { label: 'Tokens per minute', stroke: '#b35900', rate: (p, s) => (p.tokens * 60) / s },
  {
    label: 'Authentication failures per minute',
    stroke: '#a4005b',
    rate: (p, s) => (p.authenticationFailures * 60) / s,
  },
  { label: 'Limit refusals per minute', stroke: '#00735c', rate: (p, s) => (p.limitRefusals * 60) / s },
];

export function OverviewPage() {
  const [stats, setStats] = useState<Stats>();
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let current = true;
    const load = () =>
      call<Stats>('GET', '/stats').then(
        (data) => {
          if (!current) return;
          setStats(data);
          setFailed(false);
        },
        () => current && setFailed(true),
      );
    void load();
    const timer = window.setInterval(() => void load(), REFRESH_MS);
    return () => {
      current = false;
      window.clearInterval(timer);
    };
  }, []);

  return (
    <>
      <h1>Overview</h1>
      {stats === undefined ? (
        failed ? (
          <Empty>
            No statistics yet: the server did not answer them. This page tries again every 10 seconds.
          </Empty>
        ) : (
          <p>Loading…</p>
        )
      ) : (
        <>
          <Health stats={stats} />
          {failed && <p class="notice">The last refresh failed; showing the data from before.</p>}
          <Latest stats={stats} />
          {stats.points.length === 0 ? <Empty>No traffic in the last hour.</Empty> : <Chart stats={stats} />}
        </>
      )}
    </>
  );
}

function Health({ stats }: { readonly stats: Stats }) {
  return (
    <ul class="health" aria-label="Health">
      <li class={stats.store === 'up' ? 'up' : 'down'}>Store: {stats.store}</li>
      <li class={stats.cache === 'down' ? 'down' : 'up'}>
        Cache: {stats.cache === 'none' ? 'none configured' : stats.cache}
      </li>
      <li class="neutral">
        {stats.workers} server {stats.workers === 1 ? 'process' : 'processes'}
      </li>
    </ul>
  );
}

/** The last interval as numbers, for reading without the chart (and for screen readers). */
function Latest({ stats }: { readonly stats: Stats }) {
  const last = stats.points.at(-1);
  return (
    <dl class="cards">
      {SERIES.map((series) => (
        <div key={series.label} class="card">
          <dt>{series.label}</dt>
          <dd>{last === undefined ? '—' : round(series.rate(last, stats.intervalSeconds))}</dd>
        </div>
      ))}
    </dl>
  );
}

const round = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));

function Chart({ stats }: { readonly stats: Stats }) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const data = (): uPlot.AlignedData => [
    stats.points.map((point) => Date.parse(point.at) / 1000),
    ...SERIES.map((series) => stats.points.map((point) => series.rate(point, stats.intervalSeconds))),
  ];

  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const size = () => ({
      width: Math.max(element.clientWidth, 280),
      height: element.clientWidth < 600 ? 240 : 320,
    });
    plot.current = new uPlot(
      {
        ...size(),
        series: [
          {},
          ...SERIES.map((series) => ({
            label: series.label,
            stroke: series.stroke,
            width: 2,
            // Dots too, so that the first minutes (a few points) show.
            points: { show: true, size: 5 },
          })),
        ],
        axes: [{}, { size: 56 }],
        // The whole hour, however little of it has data yet (a server started minutes ago).
        scales: { x: { time: true, range: () => [Date.now() / 1000 - 3600, Date.now() / 1000] } },
        // Labels only: values under the cursor would be the sole way to read them, and the cards say it.
        legend: { live: false },
      },
      data(),
      element,
    );
    const resize = () => plot.current?.setSize(size());
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, []);

  // Made once above; new data goes through setData.
  useEffect(() => {
    plot.current?.setData(data());
  }, [stats]);

  return (
    <figure class="chart">
      <div ref={container} role="img" aria-label="The four rates over the last hour" />
      <figcaption>
        Last hour, in intervals of {stats.intervalSeconds} seconds. Refreshes every 10 seconds.
      </figcaption>
    </figure>
  );
}
