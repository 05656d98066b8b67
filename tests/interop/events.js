'use strict'
// Prints the events of STREAM/ID as evtstore's provider returns them
// (getEventsFor), one record a line in evt's key order, with the timestamp
// as evtstore hands it to folds and handlers (new Date(timestamp)).
const { open, main } = require('./store')

main('FILE STREAM ID', [3, 3], async ([file, stream, id]) => {
  const store = open(file)
  const events = await store.provider.getEventsFor(stream, id)
  const records = events.map((e) => ({
    position: e.position,
    stream: e.stream,
    aggregateId: e.aggregateId,
    version: e.version,
    timestamp: new Date(e.timestamp).toISOString(),
    event: e.event,
  }))
  return { result: records, ndjson: true, db: store.db }
})
