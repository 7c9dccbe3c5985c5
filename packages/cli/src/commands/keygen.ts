import { Command } from 'commander'

export function keygenCommand(): Command {
  return new Command('keygen')
    .summary('print a new CURVE key pair (Z85)')
    .description(
      'Prints a new CURVE key pair as two 40-character Z85 strings. Give a node its pair with --curve-public/--curve-secret ' +
        '(or ZINC_CURVE_PUBLIC/ZINC_CURVE_SECRET, which keeps the secret out of ps), share only the public key: ' +
        "children pass it as --server-key, and a host admits a client's public key with --allow-key.",
    )
    .option('--json', 'print {"publicKey": …, "secretKey": …}')
    .addHelpText(
      'after',
      `
Examples:
  $ zinc keygen
  public: <40 Z85 characters>
  secret: <40 Z85 characters>
  $ zinc keygen --json > host-keys.json
  $ zinc host --curve-public <public> --curve-secret <secret> --allow-key <client public>
`,
    )
    .action(async (flags: { json?: boolean }) => {
      const { generateKeyPair } = await import('@zinc/transport-zmq')
      const { publicKey, secretKey } = generateKeyPair()
      process.stdout.write(flags.json ? JSON.stringify({ publicKey, secretKey }) + '\n' : `public: ${publicKey}\nsecret: ${secretKey}\n`)
    })
}
