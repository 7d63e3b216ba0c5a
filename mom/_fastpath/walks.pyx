"""Walks of a batched round's columns in C: the twins of
mom/plugins/collectors/walks.py (the references; see there what each answers).

An identity scan is a pointer compare per item (a ``map(operator.is_, ...)`` pass is
a C call per item); an attribute walk reads each object once, with no call of an
attribute getter in between.
"""

from cpython.dict cimport PyDict_Contains, PyDict_GetItemWithError
from cpython.exc cimport PyErr_Clear, PyErr_Occurred
from cpython.list cimport PyList_GET_ITEM
from cpython.object cimport PyObject, PyObject_IsInstance

from mom._fastpath.slots cimport mom_slot_attribute


cdef inline object attribute_of(object item, str name):
    """``getattr(item, name)``, a slot (as __slots__ makes) read in place when getattr
    would read just that (the monitors keep their layout in slots)."""
    cdef PyObject* value = mom_slot_attribute(<PyObject*>item, <PyObject*>name)
    if value != NULL:
        return <object>value
    return getattr(item, name)


cdef extern from "Python.h":
    # without Cython's error check: an int past Py_ssize_t answers -1 with an error
    # set, which first_true_item clears (a negative index goes the generic way)
    Py_ssize_t ssize_of "PyLong_AsSsize_t"(object value) noexcept


def holds(object values, object value):
    """Twin of mom.plugins.collectors.walks.holds."""
    cdef Py_ssize_t position
    cdef object item
    if type(values) is list:
        for position in range(len(<list>values)):
            if (<list>values)[position] is value:
                return True
        return False
    for item in values:
        if item is value:
            return True
    return False


def holds_instance(object values, object kind):
    """Twin of mom.plugins.collectors.walks.holds_instance."""
    cdef object item
    for item in values:
        if PyObject_IsInstance(item, kind):
            return True
    return False


def attrs_are(object objects, str name, list values):
    """Twin of mom.plugins.collectors.walks.attrs_are."""
    cdef Py_ssize_t position = 0
    cdef object item, value
    if len(objects) != len(values):
        return False
    for item in objects:
        value = getattr(item, name)
        # getattr may run Python code that shortens ``values`` (no bounds check in a
        # release build): a list changed during the walk is "not the same"
        if position >= len(values) or value is not values[position]:
            return False
        position += 1
    return position == len(values)


def items_are(object objects, object known):
    """Twin of mom.plugins.collectors.walks.items_are."""
    cdef Py_ssize_t position, count
    cdef object item, other
    if type(objects) is list and type(known) is list:
        count = len(<list>objects)
        if len(<list>known) != count:
            return False
        # pointer compares only: no Python code runs, neither list can change meanwhile
        for position in range(count):
            if PyList_GET_ITEM(objects, position) != PyList_GET_ITEM(known, position):
                return False
        return True
    if len(objects) != len(known):
        return False
    for item, other in zip(objects, known):
        if item is not other:
            return False
    return True


cdef inline bint truthy(object value) except -1:
    """``bool(value)``; a dict's from its length, without a call (the usual variables)."""
    if type(value) is dict:
        return len(<dict>value) != 0
    return True if value else False


def first_true_attr(object objects, str name):
    """Twin of mom.plugins.collectors.walks.first_true_attr."""
    cdef Py_ssize_t position = 0
    cdef object item, value
    # a list is walked by position with its length read again at each step (getattr
    # and the truth test may run Python code that changes it)
    for item in objects:
        value = getattr(item, name)
        if truthy(value):
            return position
        position += 1
    return -1


def first_true_item(object values, object indexes):
    """Twin of mom.plugins.collectors.walks.first_true_item."""
    cdef Py_ssize_t position = 0, index
    cdef object key, value
    if type(values) is not list or type(indexes) is not list:
        for key in indexes:
            if values[key]:
                return position
            position += 1
        return -1
    # both lengths read again at each step: a truth test (a __bool__ or __len__) may
    # run Python code that changes either list (no bounds checks in a release build)
    while position < len(<list>indexes):
        key = (<list>indexes)[position]
        index = -1
        if type(key) is int:
            index = ssize_of(key)
            if index == -1 and PyErr_Occurred() != NULL:
                PyErr_Clear()  # past Py_ssize_t: values[key] raises as a list does
        if 0 <= index < len(<list>values):
            value = (<list>values)[index]
        else:
            value = values[key]  # negative, past the end, an index of another type
        if truthy(value):
            return position
        position += 1
    return -1


def all_attr_is(object objects, str name, object value):
    """Twin of mom.plugins.collectors.walks.all_attr_is."""
    cdef object item
    if type(objects) is list:
        for item in <list>objects:
            if getattr(item, name) is not value:
                return False
        return True
    for item in objects:
        if getattr(item, name) is not value:
            return False
    return True


def attr_holds(object objects, str name, object value):
    """Twin of mom.plugins.collectors.walks.attr_holds."""
    cdef object item
    for item in objects:
        if getattr(item, name) is value:
            return True
    return False


def values_of(dict mapping, object keys):
    """Twin of mom.plugins.collectors.walks.values_of."""
    cdef list values = []
    cdef object key
    cdef PyObject *found
    for key in keys:
        # NULL without an error: no such key (an error, unhashable key, is raised by Cython)
        found = PyDict_GetItemWithError(mapping, key)
        if found == NULL or <object>found is None:
            return None
        values.append(<object>found)
    return values


def count_containing(object containers, object item):
    """Twin of mom.plugins.collectors.walks.count_containing."""
    cdef Py_ssize_t count = 0
    cdef object container
    for container in containers:
        if type(container) is dict:
            if PyDict_Contains(container, item):
                count += 1
        elif item in container:
            count += 1
    return count


def cached_values(list objects, str name, str epoch_name, object epoch):
    """Twin of mom.plugins.collectors.walks.cached_values."""
    cdef Py_ssize_t count = len(objects), position
    cdef list values = [None] * count
    cdef object value
    cdef bint lacking = False
    # getattr and == may run Python code that changes ``objects`` (no bounds check in a
    # release build): a list that changes length during the walk answers "not cached"
    for position in range(count):
        if position >= len(objects):
            return None
        value = getattr(objects[position], name)
        lacking = lacking or value is None
        values[position] = value
    if lacking:
        return None
    # epochs after the values, as the reference reads them
    for position in range(count):
        if position >= len(objects):
            return None
        if not (getattr(objects[position], epoch_name) == epoch):
            return None
    if len(objects) != count:
        return None
    return values


def layouts_are(object objects, tuple names, list layouts):
    """Twin of mom.plugins.collectors.walks.layouts_are."""
    cdef Py_ssize_t width = len(names) + 1, position = 0, index
    cdef object item, known, value
    if len(layouts) != len(objects) * width:
        return False
    for item in objects:
        # getattr and == may run Python code that changes either list (no bounds check
        # in a release build): a list changed during the walk is "not the same"
        if position + width > len(layouts):
            return False
        known = layouts[position]
        if item is not known and not (known == item):
            return False
        for index in range(1, width):
            value = attribute_of(item, <str>names[index - 1])
            if position + width > len(layouts):
                return False
            known = layouts[position + index]
            if value is not known and not (known == value):
                return False
        position += width
    return position == len(layouts)


cdef class AnswerColumns:
    """Twin of mom.plugins.collectors.walks.AnswerColumns."""

    cdef readonly tuple keys
    cdef readonly tuple columns  # a tuple: no caller can change how many, or which lists
    cdef readonly list notes
    cdef readonly object mark

    def __init__(self, object keys, object mark):
        self.keys = tuple(keys)
        self.columns = tuple([[] for _ in self.keys])
        self.notes = []
        self.mark = mark

    def take(self, object answer):
        """Twin of mom.plugins.collectors.walks.AnswerColumns.take."""
        # the object's tuples held here: a key's __eq__ (Python code) may run in a lookup
        cdef tuple keys = self.keys, columns = self.columns
        cdef Py_ssize_t width = len(keys), position = len(self.notes), found = 0, index, length
        cdef object column
        cdef PyObject *value
        if len(columns) != width:
            raise ValueError("AnswerColumns: one column per key")  # (never: made so in __init__)
        for index in range(width):  # a note appended by the caller: its place in each column
            column = columns[index]
            while len(<list>column) < position:
                (<list>column).append(None)
        if type(answer) is dict:
            while found < width:
                # NULL without an error: no such key (an error is raised by Cython)
                value = PyDict_GetItemWithError(answer, keys[found])
                if value == NULL:
                    break
                (<list>columns[found]).append(<object>value)
                found += 1
        if type(answer) is dict and found == width:
            self.notes.append(self.mark)
            return
        for index in range(width):
            column = columns[index]
            if index < found:  # the values appended for this answer taken back
                length = len(<list>column)
                if length:
                    del (<list>column)[length - 1]
            (<list>column).append(None)
        self.notes.append(answer)

    def finish(self):
        """Twin of mom.plugins.collectors.walks.AnswerColumns.finish."""
        cdef Py_ssize_t position = len(self.notes)
        cdef object column
        for column in self.columns:
            while len(<list>column) < position:
                (<list>column).append(None)
