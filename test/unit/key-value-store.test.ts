import { describe, expect, it } from 'vitest'
import { InMemoryKeyValueStore } from '../../topology/stores/key-value.ts'

const loaded = (entries: Array<[string, number]>) => {
  const store = new InMemoryKeyValueStore<number>('counts')
  store.load(entries)
  return store
}

describe('InMemoryKeyValueStore', () => {
  it('should read the batch overlay over the committed state', () => {
    const store = loaded([
      ['a', 1],
      ['b', 2],
    ])
    store.put('b', 20)
    store.put('c', 30)
    expect([store.get('a'), store.get('b'), store.get('c'), store.get('d')]).toEqual([1, 20, 30, undefined])
    expect([store.has('a'), store.has('c'), store.has('d')]).toEqual([true, true, false])
  })

  it('should hide a deleted committed key and count size and entries without it', () => {
    const store = loaded([
      ['a', 1],
      ['b', 2],
    ])
    store.delete('a')
    store.delete('missing')
    store.put('c', 3)
    expect(store.get('a')).toBeUndefined()
    expect(store.has('a')).toBe(false)
    expect(store.size).toBe(2)
    expect(new Map(store.entries())).toEqual(
      new Map([
        ['b', 2],
        ['c', 3],
      ]),
    )
  })

  it('should put a deleted key back', () => {
    const store = loaded([['a', 1]])
    store.delete('a')
    store.put('a', 5)
    expect(store.get('a')).toBe(5)
    expect(store.size).toBe(1)
  })

  it('should undo every write since a mark, newest first, and keep the earlier ones', () => {
    const store = loaded([['a', 1]])
    store.put('a', 2)
    const mark = store.mark()
    store.put('a', 3)
    store.delete('a')
    store.put('b', 4)
    store.undoTo(mark)
    expect(store.get('a')).toBe(2)
    expect(store.has('b')).toBe(false)
    expect(store.changes()).toEqual({ puts: [['a', 2]], deletes: [] })
  })

  it('should undo back to the committed value when the mark precedes every write', () => {
    const store = loaded([['a', 1]])
    const mark = store.mark()
    store.delete('a')
    store.put('z', 9)
    store.undoTo(mark)
    expect(store.get('a')).toBe(1)
    expect(store.changes()).toEqual({ puts: [], deletes: [] })
  })

  it('should report the net changes of the batch', () => {
    const store = loaded([
      ['a', 1],
      ['b', 2],
    ])
    store.put('a', 10)
    store.put('a', 11)
    store.delete('b')
    store.put('c', 3)
    expect(store.changes()).toEqual({
      puts: [
        ['a', 11],
        ['c', 3],
      ],
      deletes: ['b'],
    })
  })

  it('should make the batch the committed state on commit', () => {
    const store = loaded([
      ['a', 1],
      ['b', 2],
    ])
    store.put('a', 10)
    store.delete('b')
    store.commit()
    expect(store.changes()).toEqual({ puts: [], deletes: [] })
    store.rollback()
    expect(new Map(store.entries())).toEqual(new Map([['a', 10]]))
    expect(store.size).toBe(1)
  })

  it('should forget the batch on rollback', () => {
    const store = loaded([['a', 1]])
    store.put('a', 10)
    store.put('b', 2)
    store.delete('a')
    store.rollback()
    expect(store.get('a')).toBe(1)
    expect(store.has('b')).toBe(false)
    expect(store.size).toBe(1)
    expect(store.changes()).toEqual({ puts: [], deletes: [] })
  })

  it('should replace the committed state and drop the overlay on load', () => {
    const store = loaded([['a', 1]])
    store.put('x', 1)
    store.load([['b', 2]])
    expect(new Map(store.entries())).toEqual(new Map([['b', 2]]))
  })

  it('should refuse undefined as a value', () => {
    expect(() => loaded([]).put('a', undefined as unknown as number)).toThrow(TypeError)
  })
})
