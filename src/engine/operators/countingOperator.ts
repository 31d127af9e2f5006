// Counts the applications of an operator and the multiply-adds they cost, for the engine's statistics
// (EngineStats) and the benchmark; it only delegates, and offers exactly the optional methods the
// wrapped operator has (certifiedNorm.ts chooses its path by their presence).
import type { LinearOperator } from './linearOperator';

export interface OperatorCounters {
  applications: number;
  multiplyAdds: number;
}

export function newCounters(): OperatorCounters {
  return { applications: 0, multiplyAdds: 0 };
}

export function countedOperator(op: LinearOperator, multiplyAdds: number, counters: OperatorCounters): LinearOperator {
  const count = (applications: number) => {
    counters.applications += applications;
    counters.multiplyAdds += applications * multiplyAdds;
  };
  const counted: LinearOperator = {
    inSize: op.inSize,
    outSize: op.outSize,
    ...(op.preferredGramSide ? { preferredGramSide: op.preferredGramSide } : {}),
    apply: (x, out) => (count(1), op.apply(x, out)),
    applyTranspose: (y, out) => (count(1), op.applyTranspose(y, out)),
    rowNormsSquared: (d) => (count(1), op.rowNormsSquared(d)),
  };
  if (op.denseBlock) counted.denseBlock = op.denseBlock.bind(op);
  if (op.selectRows) {
    const selectRows = op.selectRows.bind(op);
    counted.selectRows = (rows) => {
      const selected = selectRows(rows);
      return selected && { operator: countedOperator(selected.operator, selected.multiplyAdds, counters), multiplyAdds: selected.multiplyAdds };
    };
  }
  if (op.applyAbsolute) {
    const applyAbsolute = op.applyAbsolute.bind(op);
    counted.applyAbsolute = (x) => (count(1), applyAbsolute(x));
  }
  if (op.gram) {
    const gram = op.gram.bind(op);
    counted.gram = (x, s, out) => (count(2), gram(x, s, out));
  }
  if (op.gramOutput) {
    const gramOutput = op.gramOutput.bind(op);
    counted.gramOutput = (y, d, out) => (count(2), gramOutput(y, d, out));
  }
  return counted;
}
