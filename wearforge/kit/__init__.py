"""Isaac Sim / Replicator adapter. Kit modules (omni.*) are imported lazily, inside functions, so this
package imports anywhere; everything here takes the Replicator module ``rep`` as an argument."""
