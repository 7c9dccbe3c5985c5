/** The pair of addresses an endpoint binds, and that a child joins. */
export interface EndpointAddresses {
  /** The PULL channel children PUSH to. */
  inbound: string
  /** The PUB channel children SUBscribe to. */
  outbound: string
}
