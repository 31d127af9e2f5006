// The ε sweep chart as an SVG string: network local bound and spectral product (and the witnessed
// lower bound, when the runs carry one) against ε, both axes logarithmic. Pure and DOM-free, so the
// same function draws the view (colours as --vscode-* variables) and the exported file (the same
// colours resolved to values), and unit tests can read it.

import { formatNumber } from '../src/shared/format';
import type { EpsilonRun } from '../src/shared/results';

export interface ChartPoint {
  epsilon: number;
  local: number;
  spectral: number;
  lower?: number;
}

export interface ChartColours {
  background?: string;
  foreground: string;
  muted: string;
  grid: string;
  local: string;
  spectral: string;
  lower: string;
  font: string;
}

/** The view's colours: theme variables only, so light, dark and high-contrast themes all apply. */
export const THEME_CHART_COLOURS: ChartColours = {
  foreground: 'var(--vscode-foreground)',
  muted: 'var(--vscode-descriptionForeground)',
  grid: 'var(--vscode-editorWidget-border, var(--vscode-panel-border))',
  local: 'var(--vscode-charts-blue)',
  spectral: 'var(--vscode-charts-orange)',
  lower: 'var(--vscode-charts-green)',
  font: 'var(--vscode-font-family)',
};

export interface ChartGeometry {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  xDomain: [number, number];
  yDomain: [number, number];
  x(epsilon: number): number;
  y(value: number): number;
}

export function chartPoints(runs: readonly EpsilonRun[]): ChartPoint[] {
  return [...runs]
    .sort((a, b) => a.epsilon - b.epsilon)
    .map((run) => ({
      epsilon: run.epsilon,
      local: run.network.localBound,
      spectral: run.network.spectralBound,
      ...(run.lowerBound ? { lower: run.lowerBound.value } : {}),
    }));
}

/** Log-axis limits that include every positive value, widened to at least a factor of 10. */
function logDomain(values: number[]): [number, number] {
  const positive = values.filter((value) => value > 0 && Number.isFinite(value));
  if (positive.length === 0) {
    return [0.1, 10];
  }
  let lo = Math.log10(Math.min(...positive));
  let hi = Math.log10(Math.max(...positive));
  if (hi - lo < 1) {
    const middle = (hi + lo) / 2;
    lo = middle - 0.5;
    hi = middle + 0.5;
  }
  const pad = (hi - lo) * 0.06;
  return [10 ** (lo - pad), 10 ** (hi + pad)];
}

/**
 * The domain widened outward to the nearest ticks of logTicks, so both ends of the y axis carry a
 * label and every line (the lower bound's too) lies between two labelled ticks.
 */
export function tickAlignedDomain(min: number, max: number): [number, number] {
  const align = (multiples: number[]): [number, number] => {
    const decadeOf = (value: number) => 10 ** Math.floor(Math.log10(value));
    const down = decadeOf(min) * Math.max(...multiples.filter((m) => m * decadeOf(min) <= min * (1 + 1e-12)));
    const up = decadeOf(max) * Math.min(...multiples.filter((m) => m * decadeOf(max) >= max * (1 - 1e-12)));
    return [Number(down.toPrecision(12)), Number(up.toPrecision(12))];
  };
  const short = align([1, 2, 5, 10]);
  // logTicks labels 2 and 5 only on ranges under two decades: a wider range ends on powers of ten.
  return Math.log10(short[1]) - Math.log10(short[0]) < 2 ? short : align([1, 10]);
}

export function chartGeometry(points: readonly ChartPoint[], width: number, height: number): ChartGeometry {
  const left = 64;
  const right = width - 16;
  // Room above the plot for the legend, so it never hides a line.
  const top = 30;
  const bottom = height - 40;
  const [xMin, xMax] = points.length > 1 ? logDomain(points.map((p) => p.epsilon)) : logDomain([(points[0]?.epsilon ?? 1) / 10, (points[0]?.epsilon ?? 1) * 10]);
  const [yMin, yMax] = tickAlignedDomain(...logDomain(points.flatMap((p) => [p.local, p.spectral, ...(p.lower !== undefined ? [p.lower] : [])])));
  const scale = (value: number, min: number, max: number, from: number, to: number) =>
    from + ((Math.log10(value) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * (to - from);
  return {
    width,
    height,
    left,
    right,
    top,
    bottom,
    xDomain: [xMin, xMax],
    yDomain: [yMin, yMax],
    x: (epsilon) => scale(epsilon, xMin, xMax, left, right),
    y: (value) => scale(Math.max(value, yMin), yMin, yMax, bottom, top),
  };
}

/** Tick values on a log axis between min and max: powers of ten, with 2 and 5 added for short ranges. */
export function logTicks(min: number, max: number): number[] {
  const decades = Math.log10(max) - Math.log10(min);
  const multiples = decades < 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let power = Math.floor(Math.log10(min)); power <= Math.ceil(Math.log10(max)); power++) {
    for (const multiple of multiples) {
      const value = multiple * 10 ** power;
      if (value >= min * (1 - 1e-9) && value <= max * (1 + 1e-9)) {
        ticks.push(Number(value.toPrecision(12)));
      }
    }
  }
  return ticks;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function polyline(points: [number, number][], colour: string, dash: string | undefined, className: string): string {
  if (points.length === 0) {
    return '';
  }
  const coordinates = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const dashAttribute = dash ? ` stroke-dasharray="${dash}"` : '';
  return `<polyline class="${className}" fill="none" stroke="${colour}" stroke-width="2"${dashAttribute} points="${coordinates}"/>`;
}

function markers(points: [number, number][], colour: string, titles: string[], shape: 'circle' | 'square' | 'diamond', className: string): string {
  return points
    .map(([x, y], i) => {
      const title = `<title>${escapeXml(titles[i])}</title>`;
      const [cx, cy] = [x.toFixed(1), y.toFixed(1)];
      switch (shape) {
        case 'circle':
          return `<circle class="${className}" cx="${cx}" cy="${cy}" r="3.5" fill="${colour}">${title}</circle>`;
        case 'square':
          return `<rect class="${className}" x="${(x - 3.5).toFixed(1)}" y="${(y - 3.5).toFixed(1)}" width="7" height="7" fill="${colour}">${title}</rect>`;
        case 'diamond':
          return `<path class="${className}" d="M${cx} ${(y - 4.5).toFixed(1)}l4.5 4.5l-4.5 4.5l-4.5 -4.5z" fill="${colour}">${title}</path>`;
      }
    })
    .join('');
}

export interface ChartOptions {
  width: number;
  height: number;
  /** The main analysis's ε, marked on the x axis. */
  mainEpsilon?: number;
  title?: string;
}

export function sweepChartSvg(points: readonly ChartPoint[], colours: ChartColours, options: ChartOptions): string {
  const { width, height } = options;
  const g = chartGeometry(points, width, height);
  const xTicks = logTicks(...g.xDomain);
  const yTicks = logTicks(...g.yDomain);
  const text = (x: number, y: number, anchor: string, content: string, colour = colours.muted) =>
    `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${anchor}" fill="${colour}" font-size="11">${escapeXml(content)}</text>`;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" font-family="${colours.font.replace(/"/g, "'")}">`,
    `<title>${escapeXml(options.title ?? 'Network local bound and spectral product against ε')}</title>`,
  );
  if (colours.background) {
    parts.push(`<rect width="${width}" height="${height}" fill="${colours.background}"/>`);
  }
  for (const tick of xTicks) {
    const x = g.x(tick);
    parts.push(
      `<line x1="${x.toFixed(1)}" y1="${g.top}" x2="${x.toFixed(1)}" y2="${g.bottom}" stroke="${colours.grid}" stroke-width="1" opacity="0.6"/>`,
      text(x, g.bottom + 16, 'middle', formatNumber(tick)),
    );
  }
  for (const tick of yTicks) {
    const y = g.y(tick);
    parts.push(
      `<line x1="${g.left}" y1="${y.toFixed(1)}" x2="${g.right}" y2="${y.toFixed(1)}" stroke="${colours.grid}" stroke-width="1" opacity="0.6"/>`,
      text(g.left - 6, y + 4, 'end', formatNumber(tick)),
    );
  }
  parts.push(
    `<rect x="${g.left}" y="${g.top}" width="${g.right - g.left}" height="${g.bottom - g.top}" fill="none" stroke="${colours.grid}"/>`,
    text((g.left + g.right) / 2, height - 6, 'middle', 'ε (perturbation radius, log scale)', colours.foreground),
    `<text x="14" y="${((g.top + g.bottom) / 2).toFixed(1)}" text-anchor="middle" fill="${colours.foreground}" font-size="11" transform="rotate(-90 14 ${((g.top + g.bottom) / 2).toFixed(1)})">bound (log scale)</text>`,
  );
  if (options.mainEpsilon !== undefined && points.length > 0) {
    const x = g.x(options.mainEpsilon);
    if (x >= g.left && x <= g.right) {
      parts.push(`<line x1="${x.toFixed(1)}" y1="${g.top}" x2="${x.toFixed(1)}" y2="${g.bottom}" stroke="${colours.foreground}" stroke-dasharray="2 3" opacity="0.7"/>`);
    }
  }
  const series = (value: (p: ChartPoint) => number | undefined) =>
    points.filter((p) => value(p) !== undefined).map((p): [number, number] => [g.x(p.epsilon), g.y(value(p)!)]);
  const label = (p: ChartPoint) =>
    `ε = ${formatNumber(p.epsilon)}: local ${formatNumber(p.local)}, spectral ${formatNumber(p.spectral)}` +
    (p.lower !== undefined ? `, lower ${formatNumber(p.lower)}` : '');
  const spectral = series((p) => p.spectral);
  const local = series((p) => p.local);
  parts.push(polyline(spectral, colours.spectral, '6 4', 'series-spectral'), markers(spectral, colours.spectral, points.map(label), 'square', 'marker-spectral'));
  parts.push(polyline(local, colours.local, undefined, 'series-local'), markers(local, colours.local, points.map(label), 'circle', 'marker-local'));
  const withLower = points.filter((p) => p.lower !== undefined);
  if (withLower.length > 0) {
    const lower = series((p) => p.lower);
    parts.push(polyline(lower, colours.lower, '2 3', 'series-lower'), markers(lower, colours.lower, withLower.map(label), 'diamond', 'marker-lower'));
  }
  // Legend, in one row above the plot.
  const legend: [string, string, string | undefined][] = [
    ['network local bound', colours.local, undefined],
    ['spectral product', colours.spectral, '6 4'],
  ];
  if (withLower.length > 0) {
    legend.push(['witnessed lower bound', colours.lower, '2 3']);
  }
  let x = g.left;
  const y = 14;
  for (const [name, colour, dash] of legend) {
    const dashAttribute = dash ? ` stroke-dasharray="${dash}"` : '';
    parts.push(
      `<line x1="${x}" y1="${y - 4}" x2="${x + 24}" y2="${y - 4}" stroke="${colour}" stroke-width="2"${dashAttribute}/>`,
      text(x + 30, y, 'start', name, colours.foreground),
    );
    // About 6.2 px per character at 11 px: enough room without measuring text outside a browser.
    x += 30 + name.length * 6.2 + 18;
  }
  parts.push('</svg>');
  return parts.join('');
}

/** The sweep point nearest to an x pixel (for the hover read-out). */
export function nearestPoint(points: readonly ChartPoint[], g: ChartGeometry, pixelX: number): ChartPoint | undefined {
  let best: ChartPoint | undefined;
  let bestDistance = Infinity;
  for (const point of points) {
    const distance = Math.abs(g.x(point.epsilon) - pixelX);
    if (distance < bestDistance) {
      best = point;
      bestDistance = distance;
    }
  }
  return best;
}
