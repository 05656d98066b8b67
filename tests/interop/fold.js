'use strict'
// evtstore's folds beside evt-fold's, for tests/interop-fold.bats.
//
//   fold.js user FILE STREAM ID...   evtstore's getAggregate(ID) of the README
//                                    user aggregate on STREAM, one line per ID
//   fold.js meta FILE STREAM ID...   getAggregate of an aggregate whose fold
//                                    keeps what evtstore passes it: the event,
//                                    the aggregate so far and the meta
//   fold.js reducer                  an evt-fold --exec reducer: answers each
//                                    {"event","aggregate","meta"} line with the
//                                    patch the "meta" mode's fold returns
//   fold.js canon                    stdin's JSON lines with sorted keys
//   fold.js time FILE STREAM ID      time getAggregate of {n} folded from
//                                    {"type":..,"n":..} events (bench/fold.sh):
//                                    prints {"events":..,"seconds":..}
//
// Every aggregate is printed with its keys sorted (at every depth), so the
// lines compare as JSON values whatever the key order; evt-fold's output is
// put through `fold.js canon` for the same.
const { createAggregate, createDomain } = require('evtstore')
const { open, userDomain, main } = require('./store')

function sorted(v) {
  if (Array.isArray(v)) return v.map(sorted)
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const o = {}
    for (const k of Object.keys(v).sort()) o[k] = sorted(v[k])
    return o
  }
  return v
}

// The fold of the "meta" mode, the same as the jq program in the tests.
function metaFold(ev, agg, meta) {
  return {
    count: agg.count + 1,
    seen: [...(agg.seen || []), { type: ev.type, prev: agg.version, id: agg.aggregateId }],
    meta,
  }
}

function metaAggregate(stream) {
  return createAggregate({ stream, create: () => ({ count: 0 }), fold: metaFold })
}

const args = process.argv.slice(2)

if (args[0] === 'reducer') {
  // meta as evtstore makes it (common.js toMeta): the timestamp a Date
  const rl = require('readline').createInterface({ input: process.stdin })
  rl.on('line', (line) => {
    const { event, aggregate, meta } = JSON.parse(line)
    const patch = metaFold(event, aggregate, { ...meta, timestamp: new Date(meta.timestamp) })
    process.stdout.write(JSON.stringify(patch) + '\n')
  })
} else if (args[0] === 'canon') {
  let text = ''
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (d) => (text += d))
  process.stdin.on('end', () => {
    for (const line of text.split('\n')) {
      if (line.trim()) process.stdout.write(JSON.stringify(sorted(JSON.parse(line))) + '\n')
    }
  })
} else {
  main('user|meta|time FILE STREAM ID...', [4, 100], async ([mode, file, stream, ...ids]) => {
    const store = open(file)
    let aggregate
    if (mode === 'time') {
      aggregate = createDomain(
        { provider: store.provider },
        { it: createAggregate({ stream, create: () => ({ n: 0 }), fold: (ev) => ({ n: ev.n }) }) }
      ).domain.it
      const t0 = process.hrtime.bigint()
      const result = await aggregate.getAggregate(ids[0])
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9
      return { result: { events: result.version, seconds }, db: store.db }
    } else if (mode === 'user') {
      aggregate = userDomain(store.provider, stream).domain.user
    } else if (mode === 'meta') {
      aggregate = createDomain({ provider: store.provider }, { it: metaAggregate(stream) }).domain.it
    } else {
      throw new Error(`unknown mode '${mode}'`)
    }
    const result = []
    for (const id of ids) result.push(sorted(await aggregate.getAggregate(id)))
    return { result, ndjson: true, db: store.db }
  })
}
