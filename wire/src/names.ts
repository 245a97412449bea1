/** Names both Workers must agree on, so neither imports the other for them. */

/** The single control-plane Durable Object instance: gateways and the control Worker derive its id from this name. */
export const CONTROL_PLANE_NAME = "control";
