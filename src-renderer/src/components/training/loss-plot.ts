// The loss plot's geometry, drawn by LossPlot.svelte as plain SVG (no chart library): the raw loss per step
// (noisy: diffusion loss depends on the timestep drawn each step), a smoothed line over it (an exponential
// moving average with bias correction, as TensorBoard draws it), "nice" axis ticks and the points as SVG path
// data. Pure module, tested in loss-plot.test.ts.

export interface PlotBox {
  width: number;
  height: number;
  /** Room for the axis labels. */
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export interface LossPlotGeometry {
  raw: string;
  smooth: string;
  /** Horizontal grid lines with their value. */
  yTicks: { y: number; label: string }[];
  xTicks: { x: number; label: string }[];
  /** The last point of the smoothed line (the "now" dot); null without data. */
  last: { x: number; y: number; value: number } | null;
  /** Where a step falls on the x axis (the checkpoint and sample marks). */
  xOf: (step: number) => number;
}

/**
 * Exponential moving average with the bias correction of Adam / TensorBoard, so that the first points are
 * not pulled towards zero. `weight` in [0, 1): 0 is the raw curve.
 */
export function smoothLosses(losses: readonly number[], weight = 0.9): number[] {
  const out: number[] = [];
  let avg = 0;
  let norm = 0;
  for (const v of losses) {
    if (!Number.isFinite(v)) {
      out.push(out.length > 0 ? out[out.length - 1] : 0);
      continue;
    }
    avg = avg * weight + (1 - weight) * v;
    norm = norm * weight + (1 - weight);
    out.push(avg / norm);
  }
  return out;
}

/** About `count` round tick values covering [min, max] (1, 2, 2.5 or 5 times a power of ten apart). */
export function niceTicks(min: number, max: number, count = 4): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (max <= min) return [min];
  const rough = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
  const out: number[] = [];
  for (let v = Math.ceil(min / step - 1e-9) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Tick text: as few decimals as the tick spacing needs. */
export function tickLabel(value: number, step: number): string {
  const decimals = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step) - 1e-9));
  return value.toFixed(decimals);
}

/** Robust y range: outliers of the first steps (before the LoRA moved) must not flatten the rest. */
export function lossRange(losses: readonly number[]): { min: number; max: number } {
  const finite = losses.filter(Number.isFinite).sort((a, b) => a - b);
  if (finite.length === 0) return { min: 0, max: 1 };
  const q = (p: number) => finite[Math.min(finite.length - 1, Math.floor(p * (finite.length - 1)))];
  let min = finite[0];
  let max = finite.length >= 20 ? q(0.98) : finite[finite.length - 1];
  if (max - min < 1e-6) {
    min -= 0.05;
    max += 0.05;
  }
  const pad = (max - min) * 0.08;
  return { min: Math.max(0, min - pad), max: max + pad };
}

/**
 * The plot for losses of steps 1..losses.length out of `total` (the x axis always spans the whole run, so the
 * line grows to the right as training goes on). Points above the range are clamped to the top edge.
 */
export function lossPlot(losses: readonly number[], total: number, box: PlotBox, smoothing = 0.9): LossPlotGeometry {
  const steps = Math.max(total, losses.length, 1);
  const w = box.width - box.left - box.right;
  const h = box.height - box.top - box.bottom;
  const { min, max } = lossRange(losses);
  const xOf = (step: number) => box.left + (steps <= 1 ? 0 : ((step - 1) / (steps - 1)) * w);
  const yOf = (v: number) => box.top + h - ((Math.min(max, Math.max(min, v)) - min) / (max - min)) * h;
  // Thousands of steps on a few hundred pixels: keep one point per half pixel, enough for a faithful line.
  const stride = Math.max(1, Math.floor(losses.length / Math.max(1, w * 2)));
  const path = (values: readonly number[]) => {
    let d = '';
    for (let i = 0; i < values.length; i += stride) {
      if (!Number.isFinite(values[i])) continue;
      d += `${d ? 'L' : 'M'}${xOf(i + 1).toFixed(1)} ${yOf(values[i]).toFixed(1)}`;
    }
    const end = values.length - 1;
    if (end >= 0 && end % stride !== 0 && Number.isFinite(values[end])) d += `L${xOf(end + 1).toFixed(1)} ${yOf(values[end]).toFixed(1)}`;
    return d;
  };
  const smooth = smoothLosses(losses, smoothing);
  const yValues = niceTicks(min, max, 4);
  const yStep = yValues.length > 1 ? yValues[1] - yValues[0] : max - min;
  const xValues = niceTicks(1, steps, 5).filter((v) => v >= 1 && Number.isInteger(v));
  return {
    raw: path(losses),
    smooth: path(smooth),
    yTicks: yValues.map((v) => ({ y: yOf(v), label: tickLabel(v, yStep) })),
    xTicks: xValues.map((v) => ({ x: xOf(v), label: String(v) })),
    last: smooth.length > 0 ? { x: xOf(smooth.length), y: yOf(smooth[smooth.length - 1]), value: smooth[smooth.length - 1] } : null,
    xOf,
  };
}
