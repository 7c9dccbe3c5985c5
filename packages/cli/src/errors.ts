/**
 * An error the user can fix: main prints its message (which says what to do) without a stack
 * trace and exits with `exitCode`.
 */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}
