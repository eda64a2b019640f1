package io.synod.api;

/**
 * One declarative write in one store. Declarative so that a server can run it without client
 * code; values travel as bound parameters, never pasted into statements.
 */
public sealed interface Operation permits SqlOperation {
  /** The name of the store, as configured, that runs this operation. */
  String store();
}
