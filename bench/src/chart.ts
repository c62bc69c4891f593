import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export interface ChartBar {
  label: string;
  value: number;
  /** 'rampart' bars are drawn in the accent colour. */
  group: 'rampart' | 'usual' | 'other';
}

export interface ChartPanel {
  title: string;
  bars: readonly ChartBar[];
  /** A dashed line with its caption, e.g. the goal. */
  goal?: { value: number; caption: string };
}

const COLOURS = { rampart: '#2563eb', usual: '#9ca3af', other: '#f59e0b' } as const;
const xml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Side-by-side horizontal bar panels of ratios to a baseline (1.0 drawn as a solid line), as SVG. */
export function ratioChart(title: string, subtitle: string, panels: readonly ChartPanel[]): string {
  const rowHeight = 28;
  const labelWidth = 330;
  const panelWidth = 340;
  const gap = 40;
  const top = 96;
  const rows = Math.max(...panels.map((panel) => panel.bars.length));
  const height = top + rows * rowHeight + 56;
  const width = labelWidth + panels.length * (panelWidth + gap);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<title>${xml(title)}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="16" y="30" font-size="20" font-weight="bold" fill="#111827">${xml(title)}</text>`,
    `<text x="16" y="54" font-size="13" fill="#4b5563">${xml(subtitle)}</text>`,
  ];
  const labels = panels[0]?.bars ?? [];
  labels.forEach((bar, row) => {
    const y = top + row * rowHeight + rowHeight / 2 + 5;
    parts.push(
      `<text x="${labelWidth - 10}" y="${y}" font-size="13" text-anchor="end" fill="#111827">${xml(bar.label)}</text>`,
    );
  });
  panels.forEach((panel, index) => {
    const x0 = labelWidth + index * (panelWidth + gap);
    const max = Math.max(1, ...panel.bars.map((bar) => bar.value), panel.goal?.value ?? 0) * 1.15;
    const scale = (value: number) => x0 + (value / max) * panelWidth;
    parts.push(
      `<text x="${x0}" y="${top - 16}" font-size="14" font-weight="bold" fill="#111827">${xml(panel.title)}</text>`,
    );
    panel.bars.forEach((bar, row) => {
      const y = top + row * rowHeight + 4;
      const w = Math.max(1, scale(bar.value) - x0);
      parts.push(
        `<rect x="${x0}" y="${y}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${COLOURS[bar.group]}"/>`,
        `<text x="${(x0 + w + 6).toFixed(1)}" y="${y + rowHeight / 2 + 1}" font-size="12" fill="#111827">${bar.value.toFixed(2)}x</text>`,
      );
    });
    const bottom = top + rows * rowHeight;
    parts.push(
      `<line x1="${scale(1)}" y1="${top - 4}" x2="${scale(1)}" y2="${bottom}" stroke="#111827" stroke-width="1.5"/>`,
      `<text x="${scale(1)}" y="${bottom + 16}" font-size="11" text-anchor="middle" fill="#111827">bare = 1</text>`,
    );
    if (panel.goal) {
      const x = scale(panel.goal.value);
      parts.push(
        `<line x1="${x}" y1="${top - 4}" x2="${x}" y2="${bottom}" stroke="#dc2626" stroke-width="1.5" stroke-dasharray="5,4"/>`,
        `<text x="${x}" y="${bottom + 32}" font-size="11" text-anchor="middle" fill="#dc2626">${xml(panel.goal.caption)}</text>`,
      );
    }
  });
  parts.push(
    `<rect x="16" y="${height - 22}" width="12" height="12" fill="${COLOURS.rampart}"/>`,
    `<text x="34" y="${height - 12}" font-size="12" fill="#111827">Rampart</text>`,
    `<rect x="110" y="${height - 22}" width="12" height="12" fill="${COLOURS.usual}"/>`,
    `<text x="128" y="${height - 12}" font-size="12" fill="#111827">usual stack</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

/**
 * Writes the SVG and, when rsvg-convert (Debian: librsvg2-bin) is installed, a PNG beside it. Returns
 * whether the PNG was written.
 */
export function writeChart(svg: string, svgPath: string, pngPath: string): boolean {
  writeFileSync(svgPath, svg);
  const converted = spawnSync('rsvg-convert', ['-f', 'png', '-o', pngPath, svgPath], { timeout: 30_000 });
  return converted.error === undefined && converted.status === 0;
}
