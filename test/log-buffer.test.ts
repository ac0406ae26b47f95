import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { LineBuffer, type LogDestination } from '../app/app.js'

t.test('log lines are written in order, in batches of about 4 KiB, and all of them on flush', async (t) => {
  const writes: string[] = []
  const flushed: string[] = []
  const buffer = new LineBuffer({ write: (chunk) => writes.push(chunk.toString()), flush: () => flushed.push('flush'), flushSync: () => flushed.push('flushSync') }, 150)
  const lines = Array.from({ length: 12 }, (_, i) => `{"line":${i},"pad":"${'x'.repeat(20)}"}\n`)
  for (const line of lines.slice(0, 3)) buffer.write(line)
  t.same(writes, [], 'a few short lines wait')
  buffer.write(lines[3])
  t.equal(writes.length, 1, 'a batch of at least 150 characters is written at once')
  t.equal(writes[0], lines.slice(0, 4).join(''))
  for (const line of lines.slice(4, 10)) buffer.write(line)
  buffer.flush()
  t.equal(writes.join(''), lines.slice(0, 10).join(''), 'flush writes what waits, in order')
  buffer.write(lines[10])
  buffer.write(lines[11])
  buffer.flushSync()
  t.equal(writes.join(''), lines.join(''), 'and so does flushSync (at exit)')
  t.same(flushed, ['flush', 'flushSync'], 'the destination is flushed too')
  buffer.flush()
  t.equal(writes.join(''), lines.join(''), 'nothing is written twice')
})

t.test("through pino's destination in buffer mode, as standard output is written: every byte, UTF-8 intact", async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'line-buffer-')), 'out.log')
  const destination = pino.destination({ dest: file, sync: true, contentMode: 'buffer' })
  const buffer = new LineBuffer(destination as unknown as LogDestination, 64)
  const lines = Array.from({ length: 20 }, (_, i) => `{"line":${i},"name":"Zoë ${'é'.repeat(i)} 東京"}\n`)
  for (const line of lines) buffer.write(line)
  buffer.flushSync()
  t.equal(readFileSync(file, 'utf8'), lines.join(''))
  destination.end()
})
