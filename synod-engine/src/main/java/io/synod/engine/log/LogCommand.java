package io.synod.engine.log;

import io.synod.core.event.EventCommand;
import io.synod.core.event.EventEffect;
import io.synod.core.lock.LockCommand;
import io.synod.core.lock.LockEffect;
import io.synod.core.saga.SagaCommand;
import io.synod.core.saga.SagaEffect;
import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnOutcome;
import java.util.List;

/** One command of a log entry, tagged with the state machine (domain) it is for. */
sealed interface LogCommand {

  record Txn(TxnCommand command) implements LogCommand {}

  record Lock(LockCommand command) implements LogCommand {}

  record Saga(SagaCommand command) implements LogCommand {}

  record Events(EventCommand command) implements LogCommand {}

  /** What applying one command gave, in the domain of the command. */
  sealed interface Result {}

  record TxnResult(TxnOutcome outcome) implements Result {}

  record LockResult(List<LockEffect> effects) implements Result {
    public LockResult {
      effects = List.copyOf(effects);
    }
  }

  record SagaResult(List<SagaEffect> effects) implements Result {
    public SagaResult {
      effects = List.copyOf(effects);
    }
  }

  record EventResult(List<EventEffect> effects) implements Result {
    public EventResult {
      effects = List.copyOf(effects);
    }
  }
}
