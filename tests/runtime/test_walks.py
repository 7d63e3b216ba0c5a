"""The batched rounds' walks (mom.plugins.collectors.walks) and their compiled twins
(mom/_fastpath/walks.pyx) give the same answers."""

from __future__ import annotations

import random
from functools import partial

import pytest

from mom.plugins.collectors import walks


class Thing:
    def __init__(self, **values):
        self.__dict__.update(values)


class Slotted:
    __slots__ = ("a",)

    def __init__(self, a):
        self.a = a


def implementations(config):
    """The reference walks, and the compiled ones unless this is the pure-Python run."""
    reference = {name: getattr(walks, "reference_" + name) for name in walks.__all__}
    found = [reference]
    try:
        from tests.implementations import load_implementation

        load_implementation("cython", config)
        from mom._fastpath import walks as compiled
    except pytest.skip.Exception:
        return found
    found.append({name: getattr(compiled, name) for name in walks.__all__})
    return found


class Equal:
    """Equal to everything, identical to nothing else: an identity scan must not ask."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def test_identity_scans_agree(pytestconfig):
    marker, equal = object(), Equal()
    cases = [
        ([], marker, False),
        ([1, 2, 3], marker, False),
        ([1, marker, 3], marker, True),
        ([equal, equal], marker, False),  # == would say yes: identity says no
        ([None, 0], None, True),
        ([0, "", False], None, False),
        ((0, "", None), None, True),  # not a list
    ]
    for impl in implementations(pytestconfig):
        for values, value, expected in cases:
            assert impl["holds"](values, value) is expected, (values, value)
        assert impl["holds"](iter([1, marker]), marker) is True
        assert impl["holds_instance"]([1, "a", 2.0], str) is True
        assert impl["holds_instance"]([1, 2.0], (str, bytes)) is False
        assert impl["holds_instance"]([], str) is False


def test_attribute_walks_agree(pytestconfig):
    marker = object()
    for impl in implementations(pytestconfig):
        things = [Thing(a=marker, b=n) for n in range(4)]
        assert impl["attrs_are"](things, "a", [marker] * 4) is True
        assert impl["attrs_are"](things, "b", [0, 1, 2, 3]) is True  # small ints: the same objects
        assert impl["attrs_are"](things, "a", [marker] * 3) is False  # not as many
        assert impl["attrs_are"]([Thing(a=[1])], "a", [[1]]) is False  # equal, not the same
        assert impl["all_attr_is"](things, "a", marker) is True
        assert impl["all_attr_is"](tuple(things), "a", marker) is True
        assert impl["all_attr_is"](things + [Thing(a=None)], "a", marker) is False
        assert impl["all_attr_is"]([Slotted(True)], "a", True) is True
        with pytest.raises(AttributeError):
            impl["all_attr_is"]([Thing()], "a", marker)
        with pytest.raises(AttributeError):
            impl["attrs_are"]([Thing()], "a", [marker])


def test_cached_values_agree(pytestconfig):
    for impl in implementations(pytestconfig):
        cached = impl["cached_values"]
        entries = [Thing(xml=f"x{n}", xml_epoch=7) for n in range(3)]
        assert cached(entries, "xml", "xml_epoch", 7) == ["x0", "x1", "x2"]
        assert cached(entries, "xml", "xml_epoch", 8) is None  # read for another epoch
        assert cached(entries, "xml", "xml_epoch", None) is None
        assert cached([], "xml", "xml_epoch", 7) == []
        entries[1].xml = None
        assert cached(entries, "xml", "xml_epoch", 7) is None  # one not cached
        with pytest.raises(AttributeError):
            cached([Thing(xml="x")], "xml", "xml_epoch", 7)  # no epoch at all
        with pytest.raises(AttributeError):
            cached([Thing(xml=None), Thing()], "xml", "xml_epoch", 7)  # every value read first
        none_epochs = [Thing(xml="x", xml_epoch=None)]
        assert cached(none_epochs, "xml", "xml_epoch", None) == ["x"]  # == compares, as the reference


def test_lookups_and_counts_agree(pytestconfig):
    marker = object()
    for impl in implementations(pytestconfig):
        things = [Thing(handle=marker), Thing(handle=1)]
        assert impl["attr_holds"](things, "handle", marker) is True
        assert impl["attr_holds"](things, "handle", None) is False
        assert impl["attr_holds"]((), "handle", None) is False
        with pytest.raises(AttributeError):
            impl["attr_holds"]([Thing()], "handle", None)
        mapping = {"a": 1, "b": None, "c": marker}
        assert impl["values_of"](mapping, ["a", "c", "a"]) == [1, marker, 1]
        assert impl["values_of"](mapping, []) == []
        assert impl["values_of"](mapping, ["a", "x"]) is None  # not there
        assert impl["values_of"](mapping, ("a", "b")) is None  # there with None
        with pytest.raises(TypeError):
            impl["values_of"](mapping, [["unhashable"]])
        records = [{"k": 1}, {"j": 2}, {"k": None}, ["k"], "xkx"]
        assert impl["count_containing"](records, "k") == 4
        assert impl["count_containing"]({"a": {"k": 1}}.values(), "k") == 1
        assert impl["count_containing"]([], "k") == 0


class Shrinking:
    """An attribute whose read empties a list the walk is reading (Python code run by
    getattr in the middle of a compiled walk)."""

    def __init__(self, victim, value):
        self.victim = victim
        self.value = value

    @property
    def xml(self):
        self.victim.clear()
        return self.value

    xml_epoch = 7


class Growing:
    """An attribute whose read lengthens the list the walk is reading."""

    xml_epoch = 7

    def __init__(self, victim):
        self.victim = victim

    @property
    def xml(self):
        self.victim.append(Thing(xml="y", xml_epoch=7))
        return "z"


@pytest.mark.fastpath
def test_a_list_changed_during_a_walk_answers_not_the_same(pytestconfig):
    # the compiled walks read by position without bounds checks: a list shortened or
    # grown by an attribute read must give "not the same" / "not cached", never a read
    # past its end (which crashed the process before)
    from tests.implementations import load_implementation

    load_implementation("cython", pytestconfig)  # skips, with its reason, in the pure-Python run
    from mom._fastpath import walks as compiled

    impl = {name: getattr(compiled, name) for name in walks.__all__}
    values = ["a", "b", "c"]
    objects = [Shrinking(values, "a"), Thing(xml="b"), Thing(xml="c")]
    assert impl["attrs_are"](objects, "xml", values) is False
    entries = [Thing(xml="x0", xml_epoch=7), Thing(xml="x1", xml_epoch=7), Thing(xml="x2", xml_epoch=7)]
    entries[0] = Shrinking(entries, "x0")
    assert impl["cached_values"](entries, "xml", "xml_epoch", 7) is None
    grown = [Thing(xml="x", xml_epoch=7)]
    grown.insert(0, Growing(grown))
    assert impl["cached_values"](grown, "xml", "xml_epoch", 7) is None
    shrunk_layout = []
    things = [Shrinking(shrunk_layout, "s"), Thing(xml="t", xml_epoch=7)]
    shrunk_layout += [things[0], "s", 7, things[1], "t", 7]  # as layout_of, without the read
    assert impl["layouts_are"](things, ("xml", "xml_epoch"), shrunk_layout) is False


class Layout:
    """A monitor's layout kept in slots, as Monitor keeps it (plus a __dict__)."""

    __slots__ = ("row", "table", "__dict__")

    def __init__(self, row, table):
        self.row, self.table = row, table


class RowAsProperty(Layout):
    """A subclass whose ``row`` is a property: getattr reads it, not the slot."""

    __slots__ = ()

    def __init__(self, row, table):
        Layout.__dict__["row"].__set__(self, row)  # the slot holds a row all the same
        self.table = table

    @property
    def row(self):
        return "from the property"


class Intercepting(Layout):
    """A subclass with its own attribute lookup: getattr asks it, not the slot."""

    __slots__ = ()

    def __getattribute__(self, name):
        return "intercepted" if name == "row" else object.__getattribute__(self, name)


class Borrowed:
    """A class holding another class's slot descriptor: not a slot of its objects."""

    __slots__ = ("table",)
    row = Layout.__dict__["row"]

    def __init__(self, table):
        self.table = table


def test_layouts_of_slotted_objects_agree(pytestconfig):
    """The compiled walk reads a slot in place only where getattr would read just that
    slot: a property or a __getattribute__ of a subclass, a descriptor borrowed by
    another class, an empty slot and an attribute in the __dict__ answer as the
    reference (the same answer, or the same error)."""
    names = ("row", "table")
    table = object()
    for impl in implementations(pytestconfig):
        plain = [Layout(index, table) for index in range(4)]
        layout = walks.layout_of(plain, names)
        assert impl["layouts_are"](plain, names, layout) is True
        assert impl["layouts_are"](plain, names, layout[:3] + [7] + layout[4:]) is False  # another row
        for odd in (RowAsProperty(0, table), Intercepting(0, table)):
            mixed = [odd] + plain[1:]
            assert impl["layouts_are"](mixed, names, [odd] + layout[1:]) is False  # not row 0 to getattr
            assert impl["layouts_are"](mixed, names, walks.layout_of(mixed, names)) is True
        empty = Layout(0, table)
        del empty.row
        with pytest.raises(AttributeError):
            impl["layouts_are"]([empty], names, [empty, 0, table])
        borrowed = Borrowed(table)
        with pytest.raises(TypeError):  # member_get's own check: not an object of Layout
            impl["layouts_are"]([borrowed], names, [borrowed, 0, table])
        extra = Layout(0, table)
        extra.__dict__["plotter"] = None  # not a slot: the __dict__, as getattr reads it
        assert impl["layouts_are"]([extra], ("row", "plotter"), [extra, 0, None]) is True


class Truthy:
    """A value whose truth is its ``answer``, read by __bool__ (Python code in the walk)."""

    def __init__(self, answer, then=None):
        self.answer = answer
        self.then = then  # run by the truth test: changes a list the walk reads

    def __bool__(self):
        if self.then is not None:
            self.then()
        return self.answer


def test_items_are_agree(pytestconfig):
    rng = random.Random(20261203)
    pool = [object() for _ in range(5)] + [Equal(), None, 0, 1, "x"]
    for impl in implementations(pytestconfig):
        items_are = impl["items_are"]
        first, equal = pool[0], Equal()
        assert items_are([], []) is True
        assert items_are([first], [first]) is True
        assert items_are([first], []) is False and items_are([], [first]) is False
        assert items_are([equal], [Equal()]) is False  # == would say yes: identity says no
        assert items_are([first, pool[1]], [pool[1], first]) is False  # the same items, reordered
        assert items_are([first, pool[1]], [first]) is False  # one more
        assert items_are((first, pool[1]), [first, pool[1]]) is True  # not a list: the generic way
        assert items_are([[1]], [[1]]) is False  # equal lists, not the same
        for _ in range(300):
            known = [rng.choice(pool) for _ in range(rng.randrange(6))]
            objects = list(known)
            change = rng.randrange(4)
            if change == 1 and objects:
                objects[rng.randrange(len(objects))] = rng.choice(pool)
            elif change == 2:
                objects.append(rng.choice(pool))
            elif change == 3 and objects:
                del objects[rng.randrange(len(objects))]
            expected = len(objects) == len(known) and all(a is b for a, b in zip(objects, known))
            assert items_are(objects, known) is expected, (objects, known)


def test_first_true_attr_agree(pytestconfig):
    rng = random.Random(7)
    values = [None, False, True, 0, 1, "", "a", {}, {"k": 1}, [], [0], 0.0, Truthy(False), Truthy(True)]
    for impl in implementations(pytestconfig):
        first = impl["first_true_attr"]
        assert first([], "variables") == -1
        assert first([Thing(variables={}), Thing(variables={"a": 1})], "variables") == 1
        assert first([Thing(variables={"a": 1}), Thing(variables={"b": 2})], "variables") == 0
        assert first([Thing(variables={}), Thing(variables=None)], "variables") == -1
        assert first((Thing(a=0), Thing(a=2)), "a") == 1  # not a list
        assert first(iter([Thing(a=0), Thing(a=2)]), "a") == 1  # an iterator
        assert first([Slotted({}), Slotted({"x": 0})], "a") == 1
        with pytest.raises(AttributeError):
            first([Thing(a=0), Thing()], "a")
        assert first([Thing(a=1), Thing()], "a") == 0  # stops at the first: the second is not read
        with pytest.raises(ZeroDivisionError):
            first([Thing(a=Truthy(False, lambda: 1 / 0))], "a")
        for _ in range(300):
            things = [Thing(a=rng.choice(values)) for _ in range(rng.randrange(7))]
            expected = next((position for position, thing in enumerate(things) if thing.a), -1)
            assert first(things, "a") == expected


def test_first_true_item_agree(pytestconfig):
    rng = random.Random(11)
    dicts = [{}, {"k": 1}, {"k": None}]
    for impl in implementations(pytestconfig):
        first = impl["first_true_item"]
        rows = [{}, {}, {"set": 1}, {}]
        assert first(rows, []) == -1
        assert first(rows, [0, 1, 3]) == -1
        assert first(rows, [3, 2, 0]) == 1
        assert first(rows, [-2]) == 0  # negative: from the end, as a list indexes
        assert first(rows, [True, 2]) == 1  # a bool is an index (1) too
        with pytest.raises(IndexError):
            first(rows, [0, 4])
        with pytest.raises(IndexError):
            first(rows, [0, -5])
        with pytest.raises(IndexError):
            first(rows, [0, 2**70])  # past Py_ssize_t
        with pytest.raises(TypeError):
            first(rows, [0, "2"])
        assert first(rows, [2, "not reached"]) == 0  # stops at the first true one
        assert first([0, [], "", None, 5], [0, 1, 2, 3, 4]) == 4  # not only dicts
        assert first((dicts[0], dicts[1]), [0, 1]) == 1  # not a list
        assert first(rows, (0, 2)) == 1  # indexes not a list
        for _ in range(300):
            table = [rng.choice(dicts) for _ in range(rng.randrange(1, 8))]
            indexes = [rng.randrange(-len(table), len(table)) for _ in range(rng.randrange(8))]
            expected = next((position for position, index in enumerate(indexes) if table[index]), -1)
            assert first(table, indexes) == expected, (table, indexes)


@pytest.mark.fastpath
def test_first_true_item_with_lists_changed_by_a_truth_test(pytestconfig):
    # the compiled walk reads both lists by position without bounds checks: a truth test
    # (Python code) that shortens either must end the walk or raise, never read past an end
    from tests.implementations import load_implementation

    load_implementation("cython", pytestconfig)  # skips, with its reason, in the pure-Python run
    from mom._fastpath import walks as compiled

    for impl in (walks.reference_first_true_item, compiled.first_true_item):
        indexes = [0, 1, 2]
        values = [Truthy(False, indexes.clear), {"x": 1}, {"y": 1}]
        assert impl(values, indexes) == -1  # the indexes are gone after the first: no more
        values = []
        values += [Truthy(False, values.clear), {"x": 1}]
        with pytest.raises(IndexError):
            impl(values, [0, 1])  # row 1 is past the (now empty) list's end
        grown = [0]
        values = [Truthy(False, partial(grown.append, 1)), {"x": 1}]
        assert impl(values, grown) == 1  # an index added meanwhile is read as the list is
        objects = []
        objects += [Shrinking(objects, False), Thing(variables={"x": 1})]
        assert impl(values, []) == -1
        first_attr = compiled.first_true_attr if impl is compiled.first_true_item else walks.reference_first_true_attr
        assert first_attr(objects, "xml") == -1  # the rest of the list went with the first read


class LooksEmpty(dict):
    """A dict whose truth (its __len__) says empty whatever it holds."""

    def __len__(self):
        return 0


def test_truth_of_dicts_and_their_subclasses_agree(pytestconfig):
    for impl in implementations(pytestconfig):
        looks_empty = LooksEmpty(k=1)
        assert impl["first_true_attr"]([Thing(v=looks_empty), Thing(v={"k": 1})], "v") == 1
        assert impl["first_true_item"]([looks_empty, {}, {"k": 1}], [0, 1, 2]) == 2
        assert impl["first_true_attr"]([Thing(v={}), Thing(v={None: None})], "v") == 1  # a key, whatever it is


def _columns_expected(values, keys, mark):
    """What AnswerColumns makes of ``values`` (a caller's note: ("note", x)), by the rule."""
    columns = [[] for _ in keys]
    notes = []
    for value in values:
        if type(value) is tuple and value[:1] == ("note",):
            for column in columns:
                column.append(None)
            notes.append(value)
        elif type(value) is dict and all(key in value for key in keys):
            for key, column in zip(keys, columns):
                column.append(value[key])
            notes.append(mark)
        else:
            for column in columns:
                column.append(None)
            notes.append(value)
    return columns, notes


def test_answer_columns_agree_on_random_answers(pytestconfig):
    randomness = random.Random(11)
    mark = object()

    class Mapping(dict):
        pass

    for impl in implementations(pytestconfig):
        for _ in range(300):
            keys = tuple(randomness.sample(["a", "b", "c", 1], randomness.randrange(4)))

            def answer(keys=keys):
                kind = randomness.randrange(7)
                if kind == 0:
                    return randomness.choice([None, 0, "x", [1], ("a",)])
                if kind == 1:
                    return ("note", randomness.randrange(9))  # a caller's own note
                found = {key: randomness.choice([0, None, 2.5, "v", [3]]) for key in keys if randomness.random() < 0.9}
                found.update(randomness.choice([{}, {"z": 9}, {"a": 8}]))
                return Mapping(found) if kind == 2 else found

            values = [answer() for _ in range(randomness.randrange(8))]
            answers = impl["AnswerColumns"](iter(keys), mark)
            assert answers.keys == keys and answers.mark is mark
            for value in values:
                if type(value) is tuple and value[:1] == ("note",):
                    answers.notes.append(value)
                else:
                    assert answers.take(value) is None
            answers.finish()
            expected_columns, expected_notes = _columns_expected(values, keys, mark)
            assert answers.columns == tuple(expected_columns)
            assert len(answers.notes) == len(expected_notes)
            assert all(a is b for a, b in zip(answers.notes, expected_notes))
            for column, key in zip(answers.columns, keys):  # the values themselves, not copies
                for position, value in enumerate(values):
                    if answers.notes[position] is mark:
                        assert column[position] is value[key]


def test_answer_columns_take_back_the_values_of_a_partial_answer(pytestconfig):
    mark = object()
    for impl in implementations(pytestconfig):
        partial_answer = {"a": 1, "b": 2}
        answers = impl["AnswerColumns"](("a", "b", "c"), mark)
        answers.take(partial_answer)
        answers.notes.append("failed")
        answers.take({"a": 4, "b": 5, "c": 6})
        assert answers.columns == ([None, None, 4], [None, None, 5], [None, None, 6])
        assert answers.notes[0] is partial_answer and answers.notes[1] == "failed" and answers.notes[2] is mark
        empty = impl["AnswerColumns"]((), mark)
        empty.take({})
        empty.take(5)
        assert empty.columns == () and empty.notes == [mark, 5]
        with pytest.raises(TypeError):
            impl["AnswerColumns"](5, mark)  # keys not iterable
        # a caller cannot change the columns' number or lists (the compiled take indexes
        # them unchecked): emptied lists are filled again from the notes
        held = impl["AnswerColumns"](("a",), mark)
        with pytest.raises((TypeError, AttributeError)):
            held.columns[0] = (1, 2)
        held.take({"a": 1})
        held.columns[0].clear()
        held.take({"a": 2})
        assert held.columns == ([None, 2],)
