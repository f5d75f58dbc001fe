"""Reference sets that ship with edgesim (`edgesim validate --reference published`)."""
