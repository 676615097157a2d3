"""A small stack-based bytecode VM running a counter contract.

The contract increments a storage slot ``ITERATIONS`` times in a loop (load, add, store,
compare, branch), metering gas per instruction as a contract VM does. Metric:
``steps_per_sec``, instructions executed per second. The final counter and the step count
are checked, so a broken interpreter fails the bench instead of getting faster.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchgate import bench

# Opcodes
PUSH, POP, DUP, SWAP, ADD, SUB, LT, JUMP, JUMPIF, SLOAD, SSTORE, HALT = range(12)
GAS = {
    PUSH: 3, POP: 2, DUP: 3, SWAP: 3, ADD: 3, SUB: 3, LT: 3,
    JUMP: 8, JUMPIF: 10, SLOAD: 100, SSTORE: 200, HALT: 0,
}  # fmt: skip
ITERATIONS = 500
COUNTER_SLOT = 0

bench.configure(min_time=0.05, samples=5)


class OutOfGas(Exception):
    pass


@dataclass
class Result:
    steps: int
    gas_used: int
    storage: dict[int, int] = field(default_factory=dict)


def assemble(iterations: int) -> list[int]:
    """The counter contract: ``for i in range(iterations): storage[0] += 1``.

    Executes ``13 * iterations + 7`` instructions.
    """
    return [
        PUSH, 0,             # 0   i = 0                         [i]
        DUP,                 # 2   loop: i < n ?                 [i i]
        PUSH, iterations,    # 3                                 [i i n]
        LT,                  # 5                                 [i c]
        JUMPIF, 10,          # 6   to the body                   [i]
        JUMP, 24,            # 8   to the end
        PUSH, COUNTER_SLOT,  # 10  body                          [i slot]
        SLOAD,               # 12                                [i counter]
        PUSH, 1,             # 13                                [i counter 1]
        ADD,                 # 15                                [i counter+1]
        PUSH, COUNTER_SLOT,  # 16                                [i counter+1 slot]
        SSTORE,              # 18  storage[slot] = counter+1     [i]
        PUSH, 1,             # 19                                [i 1]
        ADD,                 # 21                                [i+1]
        JUMP, 2,             # 22  back to the loop test
        HALT,                # 24  end
    ]  # fmt: skip


def run(code: list[int], storage: dict[int, int], gas_limit: int) -> Result:
    """Interpret ``code`` until HALT; every executed instruction is one step."""
    stack: list[int] = []
    push = stack.append
    pop = stack.pop
    gas_table = GAS
    pc = 0
    steps = 0
    gas = 0
    while True:
        op = code[pc]
        steps += 1
        gas += gas_table[op]
        if gas > gas_limit:
            raise OutOfGas(f"out of gas at pc={pc} after {steps} steps")
        if op == PUSH:
            push(code[pc + 1])
            pc += 2
        elif op == ADD:
            b = pop()
            push((pop() + b) & 0xFFFFFFFFFFFFFFFF)
            pc += 1
        elif op == DUP:
            push(stack[-1])
            pc += 1
        elif op == LT:
            b = pop()
            push(1 if pop() < b else 0)
            pc += 1
        elif op == JUMPIF:
            pc = code[pc + 1] if pop() else pc + 2
        elif op == JUMP:
            pc = code[pc + 1]
        elif op == SLOAD:
            push(storage.get(pop(), 0))
            pc += 1
        elif op == SSTORE:
            slot = pop()
            storage[slot] = pop()
            pc += 1
        elif op == SUB:
            b = pop()
            push((pop() - b) & 0xFFFFFFFFFFFFFFFF)
            pc += 1
        elif op == POP:
            pop()
            pc += 1
        elif op == SWAP:
            stack[-1], stack[-2] = stack[-2], stack[-1]
            pc += 1
        elif op == HALT:
            return Result(steps, gas, storage)
        else:
            raise ValueError(f"bad opcode {op} at pc={pc}")


@dataclass
class Contract:
    code: list[int]
    steps: int  # instructions one execution takes


def deploy() -> Contract:
    """Assemble the contract and check one execution: its counter and its step count."""
    code = assemble(ITERATIONS)
    result = run(code, {}, gas_limit=10**9)
    if result.storage.get(COUNTER_SLOT) != ITERATIONS or result.steps != 13 * ITERATIONS + 7:
        raise SystemExit(
            f"VM is wrong: counter={result.storage.get(COUNTER_SLOT)}, steps={result.steps}"
        )
    return Contract(code, result.steps)


@bench.metric("steps_per_sec", ops_per_call=lambda c: c.steps, unit="steps", setup=deploy)
def execute(contract: Contract) -> Result:
    # Fresh storage each call: every call runs the whole contract from a zero counter.
    return run(contract.code, {}, gas_limit=10**9)


if __name__ == "__main__":
    bench.main()
