import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series {
  label: string;
  color: string;
  values: number[];
}

/** A uPlot line chart of daily series; follows its container's width (laptop or phone). */
export function LineChart({ title, days, series }: { title: string; days: number[]; series: Series[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(240, el.clientWidth);
    const plot = new uPlot(
      {
        title,
        width: width(),
        height: 260,
        scales: { x: { time: true } },
        axes: [{}, { size: 48 }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, points: { show: days.length < 40 } }))],
        legend: { live: false },
      },
      [days, ...series.map((s) => s.values)],
      el,
    );
    const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: 260 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [title, days, series]);
  return <div class="chart" ref={box} />;
}
