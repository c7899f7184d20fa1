"""DIAL on the Switch Riddle (Foerster et al. 2016): game, C-Net, DRU, learners, protocol
decoding."""
