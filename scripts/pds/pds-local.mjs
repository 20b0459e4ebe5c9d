// A Bluesky reference server (PDS) and its PLC directory in one process, on
// 127.0.0.1 only, with an in-memory PLC and the PDS's state in $STATE. Makes
// one account with an app password (and one per OTHER_HANDLES) and prints,
// on one line of stdout:
//   {"url":…, "handle":…, "did":…, "app_password":…, "others": {handle: did}}
// then serves until SIGTERM or SIGINT. See ../../docs/testing-bluesky.md.
import events from 'node:events'
import { createHttpTerminator } from 'http-terminator'
import { PDS, envToCfg, envToSecrets, readEnv } from '@atproto/pds'
import { PlcServer, Database as PlcDatabase } from '@did-plc/server'

const host = '127.0.0.1'
const plcPort = Number(process.env.PLC_PORT)
const pdsPort = Number(process.env.PDS_PORT)

async function listen(app, port) {
  const server = app.listen(port, host)
  await events.once(server, 'listening')
  return server
}

const plc = PlcServer.create({ db: PlcDatabase.mock(), port: plcPort })
plc.server = await listen(plc.app, plcPort)
plc.terminator = createHttpTerminator({ server: plc.server })

const env = readEnv()
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
await pds.ctx.sequencer.start()
pds.server = await listen(pds.app, pdsPort)
pds.terminator = createHttpTerminator({ server: pds.server })

const url = `http://localhost:${pdsPort}`
async function xrpc(method, body, token) {
  const headers = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(`${url}/xrpc/${method}`, { method: 'POST', headers, body: JSON.stringify(body) })
  const json = await res.json()
  if (!res.ok) throw new Error(`${method}: ${res.status} ${JSON.stringify(json)}`)
  return json
}
const handle = process.env.ACCOUNT_HANDLE || 'aol.test'
const account = await xrpc('com.atproto.server.createAccount', {
  handle,
  email: 'aol@example.com',
  password: process.env.ACCOUNT_PASSWORD || 'account-password-not-for-aol',
})
const appPassword = await xrpc('com.atproto.server.createAppPassword', { name: 'aol' }, account.accessJwt)
// Other accounts, for posts that mention them.
const others = {}
for (const other of (process.env.OTHER_HANDLES || '').split(',').filter(Boolean)) {
  const made = await xrpc('com.atproto.server.createAccount', {
    handle: other,
    email: `${other}@example.com`,
    password: 'other-account-password',
  })
  others[other] = made.did
}
console.log(JSON.stringify({ url, handle, did: account.did, app_password: appPassword.password, others }))

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  await pds.destroy().catch(() => {})
  await plc.destroy().catch(() => {})
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
