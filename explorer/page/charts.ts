/**
 * Bar charts on Chart.js, with only the pieces used registered (the bundle
 * keeps the rest out). No animation: a chart is drawn once, at its final
 * state, for people who prefer reduced motion and for the browser tests'
 * screenshots alike.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js'

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip)

/** Colour-blind-safe (Okabe–Ito), in order. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000']

export function colour (index: number): string {
  return PALETTE[index % PALETTE.length]
}

export interface Series {
  label: string
  values: number[]
  /** Series with the same stack are stacked; different stacks stand side by side. */
  stack?: string
  colour: string
}

const charts = new WeakMap<HTMLCanvasElement, Chart>()

export function barChart (canvas: HTMLCanvasElement, labels: string[], series: Series[], options: { stacked?: boolean, horizontal?: boolean } = {}): void {
  charts.get(canvas)?.destroy()
  const stacked = options.stacked === true
  charts.set(canvas, new Chart(canvas, {
    type: 'bar',
    data: {
      labels,
      datasets: series.map((one) => ({ label: one.label, data: one.values, stack: one.stack, backgroundColor: one.colour, borderColor: one.colour }))
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: options.horizontal === true ? 'y' : 'x',
      scales: { x: { stacked }, y: { stacked, beginAtZero: true } },
      plugins: { legend: { position: 'bottom' } }
    }
  }))
}
