'use strict'
// Appends EVENT to STREAM/ID through evtstore's provider as the aggregate's
// version EXPECTED + 1. Prints the stored version, or on evtstore's
// VersionError the failed constraint and exits 3.
const { VersionError } = require('evtstore')
const { open, main } = require('./store')

main('FILE STREAM ID EXPECTED EVENT', [5, 5], async ([file, stream, id, expected, event]) => {
  const store = open(file)
  const { provider } = store
  const version = Number(expected) + 1
  if (!Number.isInteger(version)) throw new Error(`bad version '${expected}'`)
  const events = provider.createEvents(stream, id, version, [JSON.parse(event)])
  try {
    await provider.append(stream, id, version, events)
  } catch (err) {
    if (!(err instanceof VersionError)) throw err
    const m = /UNIQUE constraint failed: (.*)$/.exec(err.message)
    if (!m) throw err
    return { result: { versionError: m[1] }, status: 3, db: store.db }
  }
  return { result: { version }, db: store.db }
})
