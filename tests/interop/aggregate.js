'use strict'
// Prints evtstore's getAggregate(ID) for the README user aggregate on STREAM.
const { open, userDomain, main } = require('./store')

main('FILE STREAM ID', [3, 3], async ([file, stream, id]) => {
  const store = open(file)
  const { domain } = userDomain(store.provider, stream)
  return { result: await domain.user.getAggregate(id), db: store.db }
})
