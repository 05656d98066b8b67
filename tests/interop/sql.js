'use strict'
// Runs one SQL query on FILE with better-sqlite3 and prints the rows as a
// JSON array.
const Database = require('better-sqlite3')

const args = process.argv.slice(2)
if (args.length !== 2) {
  console.error('usage: sql.js FILE SQL')
  process.exit(2)
}
try {
  const db = new Database(args[0], { readonly: true, fileMustExist: true })
  console.log(JSON.stringify(db.prepare(args[1]).all()))
} catch (err) {
  console.error(`sql.js: ${err.message}`)
  process.exit(1)
}
