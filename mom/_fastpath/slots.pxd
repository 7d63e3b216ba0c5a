"""Reading an object's slot in place (shared by the walks and the policy VM's rows)."""

from cpython.object cimport PyObject


cdef extern from *:
    """
    #include <structmember.h>
    /* The value of an object slot (a member descriptor of type T_OBJECT_EX, as
       __slots__ makes) read straight from ``obj``, borrowed; NULL when ``descriptor``
       is not such a slot or the slot is empty (the descriptor then decides: it raises
       AttributeError).  ``obj`` must be an instance of the type the descriptor came
       from, as member_get would check. */
    static inline PyObject* mom_slot_value(PyObject* descriptor, PyObject* obj) {
        PyMemberDef* member;
        if (Py_TYPE(descriptor) != &PyMemberDescr_Type)
            return NULL;
        member = ((PyMemberDescrObject*)descriptor)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & ~READONLY) != 0)
            return NULL;
        /* member_get's own check (one pointer compare on the usual path): a descriptor
           copied into an unrelated class must not read past that class's objects */
        if (!PyObject_TypeCheck(obj, PyDescr_TYPE(descriptor)))
            return NULL;
        return *(PyObject**)((char*)obj + member->offset);
    }
    /* ``obj.name`` when it is a slot read as above and the type's attribute lookup is
       the generic one (which finds the type's data descriptor first and reads that
       slot), borrowed; NULL otherwise (ask getattr).  ``name`` must be a str.  No
       Python code runs. */
    static inline PyObject* mom_slot_attribute(PyObject* obj, PyObject* name) {
        PyObject* descriptor;
        if (Py_TYPE(obj)->tp_getattro != PyObject_GenericGetAttr)
            return NULL;
        descriptor = _PyType_Lookup(Py_TYPE(obj), name);
        if (descriptor == NULL)
            return NULL;
        return mom_slot_value(descriptor, obj);
    }
    /* ``obj``'s slot of the member descriptor ``descriptor``, when that is the one its
       type's lookup of ``name`` finds (a subclass's own attribute of that name: NULL),
       borrowed; NULL too when the slot is empty or the type's attribute lookup is not
       the generic one.  No Python code runs. */
    static inline PyObject* mom_slot_of(PyObject* obj, PyObject* name, PyObject* descriptor) {
        if (descriptor == NULL || Py_TYPE(obj)->tp_getattro != PyObject_GenericGetAttr)
            return NULL;
        if (_PyType_Lookup(Py_TYPE(obj), name) != descriptor)
            return NULL;
        return mom_slot_value(descriptor, obj);
    }
    /* Store ``value`` in ``obj``'s slot through its member descriptor (no __setattr__
       asked); -1 with an exception set on failure. */
    static inline int mom_slot_store(PyObject* descriptor, PyObject* obj, PyObject* value) {
        return Py_TYPE(descriptor)->tp_descr_set(descriptor, obj, value);
    }
    """
    PyObject* mom_slot_value(PyObject* descriptor, PyObject* obj) noexcept
    PyObject* mom_slot_of(PyObject* obj, PyObject* name, PyObject* descriptor) noexcept
    int mom_slot_store(PyObject* descriptor, PyObject* obj, PyObject* value) except -1
    PyObject* mom_slot_attribute(PyObject* obj, PyObject* name) noexcept
