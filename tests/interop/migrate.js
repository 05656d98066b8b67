'use strict'
// Creates evtstore's schema in FILE (evtstore's knex migrate).
const { open, main } = require('./store')

main('FILE', [1, 1], async ([file]) => {
  const store = open(file)
  await store.migrate()
  return { result: { migrated: file }, db: store.db }
})
