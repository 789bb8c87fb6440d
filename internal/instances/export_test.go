package instances

// HaveVM tells the tests whether this build runs real machines.
const HaveVM = haveVM
