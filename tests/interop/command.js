'use strict'
// Runs an evtstore command of the README user aggregate (create {name},
// disable, enable) on users/ID, creating the schema if needed, and prints
// the aggregate the command returns.
const { open, userDomain, main } = require('./store')

main('FILE ID create|disable|enable [BODY]', [3, 4], async ([file, id, command, body = '{}']) => {
  const store = open(file)
  await store.migrate()
  const { commands } = userDomain(store.provider)
  if (!commands[command]) throw new Error(`unknown command '${command}'`)
  const result = await commands[command](id, JSON.parse(body))
  return { result, db: store.db }
})
